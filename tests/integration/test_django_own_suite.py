"""Django's own memcached cache tests, from Django's source (scripts/fetch-django-tests.py brings
them from Debian's source package of the installed python3-django; make test runs it), run by
Django's own runner against the server: the stock PyMemcacheCacheTests and PyLibMCCacheTests,
and the same PyMemcacheCacheTests on cachet_django.CachetCache over TCP, a Unix socket and three
servers (tests/integration/django_suite). Each run gets servers of its own, as Django's tests
clear the cache; the runs go side by side, as Django's tests mostly sleep."""
import json
import os
import re
import subprocess

import pytest

from conftest import IS_MEMCACHED, REPO

HERE = os.path.dirname(os.path.abspath(__file__))
FETCH = os.path.join(REPO, "scripts", "fetch-django-tests.py")


@pytest.fixture(scope="module")
def django_tests():
    """Django's tests directory; make deps-test has brought it (this only finds it then)."""
    r = subprocess.run(["/usr/bin/python3", FETCH], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"scripts/fetch-django-tests.py failed (make deps-test): {r.stderr}"
    return r.stdout.strip()


RUNS = {  # name: (LOCATION form, Django test labels)
    "pymemcache": ("tcp", ["cache.tests.PyMemcacheCacheTests"]),
    "pylibmc": ("tcp", ["cache.tests.PyLibMCCacheTests"]),
    "cachet_django-tcp": ("tcp", ["cache.tests.PyMemcacheCacheTests.test_add",
                                  "cachet_django_suite"]),
    "cachet_django-unix": ("unix", ["cache.tests.PyMemcacheCacheTests.test_add",
                                    "cachet_django_suite"]),
    "cachet_django-tcp3": ("tcp3", ["cache.tests.PyMemcacheCacheTests.test_add",
                                    "cachet_django_suite"]),
}
# The cachet_django runs name one stock test first: a label under `cache` makes Django's runner
# install that app, whose models the tests use.


def _location(form, server_factory):
    if form == "tcp3":
        return [server_factory().location for _ in range(3)]
    return server_factory(unix=(form == "unix")).location


def test_django_own_cache_tests_pass(server_factory, django_tests):
    runs = {}
    for name, (form, labels) in RUNS.items():
        if IS_MEMCACHED and name.startswith("cachet_django"):
            continue  # cachet's backend is tested on cachet
        env = dict(os.environ,
                   CACHET_DJANGO_LOCATION=json.dumps(_location(form, server_factory)),
                   PYTHONPATH=os.pathsep.join([os.path.join(HERE, "django_suite"),
                                               os.path.join(REPO, "clients", "python")]))
        runs[name] = subprocess.Popen(
            ["/usr/bin/python3", "-W", "ignore::DeprecationWarning", "runtests.py",
             "--settings=settings", "--parallel=1", "--noinput", *labels],
            cwd=django_tests, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True)
    failed = []
    for name, proc in runs.items():
        out, _ = proc.communicate(timeout=600)
        ran = re.search(r"^Ran (\d+) tests", out, re.M)
        # Django's memcached classes have 58 tests or more: fewer, the backend was not set up.
        if proc.returncode != 0 or ran is None or int(ran.group(1)) < 50:
            failed.append(f"--- {name} (rc {proc.returncode}):\n{out[-6000:]}")
    assert not failed, "\n".join(failed)
