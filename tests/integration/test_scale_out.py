"""Scaling out with engines that already exist: three servers behind Debian's twemproxy
(nutcracker, ketama + fnv1a_64, auto-ejection), and libmemcached's own ketama through pylibmc.

Each backend is also read directly, to show where keys landed. Killing a backend (SIGKILL) shows
the rest keep serving: nutcracker ejects the dead server and re-homes its keys; libmemcached
(auto_eject + failure_limit 1) drops it from its continuum while keys on the others stay put.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import warnings

import pylibmc
import pytest
from pymemcache.client.base import Client as PyMemcacheClient

with warnings.catch_warnings():
    # Python 3.11+ deprecations raised while Django 3.2 imports (cgi, getdefaultlocale)
    warnings.simplefilter("ignore", DeprecationWarning)
    import django
    from django.conf import settings
    import django.http  # noqa: F401
    import django.utils.encoding  # noqa: F401

if not settings.configured:  # the same configuration test_django.py makes
    settings.configure(
        DEBUG=False,
        SECRET_KEY="cachet-integration-tests",
        ALLOWED_HOSTS=["testserver"],
        INSTALLED_APPS=[],
        MIDDLEWARE=[],
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates"}],
        USE_TZ=True,
    )
    django.setup()

from django.core.cache import caches  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

NUTCRACKER = shutil.which("nutcracker") or "/usr/sbin/nutcracker"
needs_nutcracker = pytest.mark.skipif(not os.path.exists(NUTCRACKER),
                                      reason="nutcracker (twemproxy) not installed")
pytestmark = pytest.mark.filterwarnings(
    "ignore::django.utils.deprecation.RemovedInDjango41Warning")

# Varied keys: twemproxy's fnv1a_64 + ketama maps near-identical short keys ("k0".."k99")
# unevenly, real key shapes spread well.
KEYS = [f"user:{i}:profile" for i in range(200)]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for_port(port, proc, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, f"exited {proc.returncode}"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listening on {port}"
            time.sleep(0.01)  # polling for the listener, not synchronising


class Nutcracker:
    """nutcracker with one pool of the given servers, on free loopback ports."""

    def __init__(self, servers, **pool):
        self.tmpdir = tempfile.mkdtemp(prefix="cachet-nutcracker-")
        self.port = free_port()
        lines = [
            "cachet:",
            f"  listen: 127.0.0.1:{self.port}",
            "  hash: fnv1a_64",
            "  distribution: ketama",
            "  auto_eject_hosts: true",
            f"  server_retry_timeout: {pool.get('server_retry_timeout', 30000)}",
            "  server_failure_limit: 1",
            "  timeout: 1000",
            "  servers:",
        ]
        # host:port:weight name -- ketama places servers by name, so the mapping does not
        # depend on the (ephemeral) ports
        lines += [f"   - {s.host}:{s.port}:1 s{i}" for i, s in enumerate(servers)]
        self.conf = os.path.join(self.tmpdir, "nutcracker.yml")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        check = subprocess.run([NUTCRACKER, "-t", "-c", self.conf], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=10)
        assert check.returncode == 0, check.stdout
        self.log = os.path.join(self.tmpdir, "nutcracker.log")
        # -s: its stats port (default 22222) must not clash with another nutcracker
        self.proc = subprocess.Popen(
            [NUTCRACKER, "-c", self.conf, "-s", str(free_port()), "-a", "127.0.0.1",
             "-o", self.log], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, self.proc)

    @property
    def location(self):
        return f"127.0.0.1:{self.port}"

    def client(self):
        return PyMemcacheClient(("127.0.0.1", self.port), timeout=5, connect_timeout=5)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.tmpdir, ignore_errors=True)


def direct(server):
    return PyMemcacheClient(server.address, timeout=5, connect_timeout=5)


def owners(servers, keys):
    """{key: [indexes of the backends that hold it]}, by asking each backend directly."""
    out = {k: [] for k in keys}
    for i, s in enumerate(servers):
        c = direct(s)
        found = c.get_many(keys)
        c.close()
        for k in found:
            out[k].append(i)
    return out


def assert_spread_once(servers, keys):
    """Every key lives on exactly one backend and every backend holds some; returns owners."""
    where = owners(servers, keys)
    assert all(len(v) == 1 for v in where.values()), \
        {k: v for k, v in where.items() if len(v) != 1}
    counts = [sum(1 for v in where.values() if v == [i]) for i in range(len(servers))]
    assert all(n > 0 for n in counts), counts
    return {k: v[0] for k, v in where.items()}


def kill(server):
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def trio(module_server_factory):
    return [module_server_factory() for _ in range(3)]


@pytest.fixture
def clean_trio(trio):
    for s in trio:
        c = direct(s)
        assert c.flush_all(noreply=False)  # wait for OK: pymemcache defaults to noreply
        c.close()
    return trio


@pytest.fixture(scope="module")
def proxy(trio):
    if not os.path.exists(NUTCRACKER):
        pytest.skip("nutcracker (twemproxy) not installed")
    n = Nutcracker(trio)
    yield n
    n.stop()


# --- nutcracker -----------------------------------------------------------------------------

@needs_nutcracker
def test_nutcracker_spreads_keys_over_all_backends(clean_trio, proxy):
    c = proxy.client()
    for k in KEYS:
        assert c.set(k, k.upper(), noreply=False)
    assert all(c.get(k) == k.upper().encode() for k in KEYS)
    # multi-get through the proxy (it splits it per backend)
    assert c.get_many(KEYS[:50]) == {k: k.upper().encode() for k in KEYS[:50]}
    c.close()
    first = assert_spread_once(clean_trio, KEYS)
    # the mapping is stable: writing again lands on the same backends
    c = proxy.client()
    for k in KEYS:
        c.set(k, b"again", noreply=False)
    c.close()
    assert assert_spread_once(clean_trio, KEYS) == first


@needs_nutcracker
def test_nutcracker_text_commands_pass_through(clean_trio, proxy):
    c = proxy.client()
    assert c.set("ctr", "10", noreply=False)
    assert c.incr("ctr", 5) == 15
    assert c.decr("ctr", 3) == 12
    assert c.add("ctr", "x", noreply=False) is False
    assert c.append("ctr", "0", noreply=False)
    assert c.get("ctr") == b"120"
    value, cas = c.gets("ctr")
    assert c.cas("ctr", "1", cas, noreply=False) is True
    assert c.cas("ctr", "2", cas, noreply=False) is False
    assert c.touch("ctr", 100, noreply=False)
    assert c.delete("ctr", noreply=False)
    assert c.get("ctr") is None
    c.close()


@needs_nutcracker
def test_django_cache_through_nutcracker(clean_trio, proxy):
    caches_conf = {"default": {
        "BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache",
        "LOCATION": proxy.location,
        "TIMEOUT": 300,
    }}
    with override_settings(CACHES=caches_conf):
        cache = caches["default"]
        try:
            cache.set("page:home", {"html": "<h1>hi</h1>", "n": 1})
            assert cache.get("page:home") == {"html": "<h1>hi</h1>", "n": 1}
            data = {f"user:{i}:profile": {"id": i} for i in range(100)}
            cache.set_many(data)
            assert cache.get_many(list(data)) == data
            assert cache.add("page:home", "other") is False
            assert cache.add("visits", 1) is True
            assert cache.incr("visits", 9) == 10
            assert cache.decr("visits") == 9
            assert cache.touch("page:home", 60) is True
            assert cache.get_or_set("computed", lambda: 42) == 42
            assert cache.delete("page:home") is True
            assert cache.get("page:home", "default") == "default"
            cache.delete_many(list(data)[:10])
            assert cache.get_many(list(data)[:10]) == {}
        finally:
            cache.close()
    # Django's keys (":1:user:N:profile") went to all three backends
    assert_spread_once(clean_trio, [f":1:user:{i}:profile" for i in range(10, 100)])


@needs_nutcracker
def test_nutcracker_ejects_a_dead_backend(server_factory):
    servers = [server_factory() for _ in range(3)]
    n = Nutcracker(servers)
    try:
        c = n.client()
        for k in KEYS:
            assert c.set(k, "v:" + k, noreply=False)
        where = assert_spread_once(servers, KEYS)
        kill(servers[1])
        # The first requests for the dead server may fail; once nutcracker has ejected it
        # (server_failure_limit 1), its keys re-home on the other two.
        dead_keys = [k for k in KEYS if where[k] == 1]
        deadline = time.monotonic() + 15
        while True:
            try:
                if c.set(dead_keys[0], "new", noreply=False) and c.get(dead_keys[0]) == b"new":
                    break
            except Exception:  # noqa: BLE001 - a refused/closed backend, before ejection
                c.close()
            assert time.monotonic() < deadline, "nutcracker never ejected the dead backend"
            time.sleep(0.01)  # poll interval
        # After the ejection every request succeeds: new keys, the dead server's keys...
        for k in dead_keys:
            assert c.set(k, "re:" + k, noreply=False)
            assert c.get(k) == ("re:" + k).encode()
        for i in range(100):
            assert c.set(f"after:{i}:kill", str(i), noreply=False)
        assert c.get_many([f"after:{i}:kill" for i in range(100)]) == \
            {f"after:{i}:kill": str(i).encode() for i in range(100)}
        # ...and the keys the live servers held are still there (ketama moved only the dead
        # server's share)
        for k in KEYS:
            if where[k] != 1:
                assert c.get(k) == ("v:" + k).encode(), k
        c.close()
        alive = [servers[0], servers[2]]
        new_where = owners(alive, [f"after:{i}:kill" for i in range(100)])
        assert all(len(v) == 1 for v in new_where.values())
        assert {v[0] for v in new_where.values()} == {0, 1}  # both survivors got new keys
    finally:
        n.stop()


# --- pylibmc (libmemcached) ketama -----------------------------------------------------------

KETAMA = {"ketama": True, "connect_timeout": 1000, "receive_timeout": 2_000_000,
          "send_timeout": 2_000_000}
# eject a server after one failure, retry it only after a minute
EJECT = {"auto_eject": True, "failure_limit": 1, "retry_timeout": 1, "dead_timeout": 60}


def pylibmc_client(servers, **behaviors):
    return pylibmc.Client([f"{s.host}:{s.port}" for s in servers],
                          behaviors=dict(KETAMA, **behaviors))


@pytest.mark.parametrize("mode", ["ketama", "ketama_weighted"])
def test_pylibmc_ketama_spreads_and_is_consistent(clean_trio, mode):
    behaviors = {"ketama_weighted": True} if mode == "ketama_weighted" else {}
    mc = pylibmc_client(clean_trio, **behaviors)
    for k in KEYS:
        assert mc.set(k, "v:" + k)
    first = assert_spread_once(clean_trio, KEYS)
    # Another client, servers listed in another order: the same key maps to the same server
    # (ketama places servers by their address, not their position in the list).
    other = pylibmc.Client([f"{s.host}:{s.port}" for s in reversed(clean_trio)],
                           behaviors=dict(KETAMA, **behaviors))
    assert other.get_multi(KEYS) == {k: "v:" + k for k in KEYS}
    for k in KEYS:
        assert other.set(k, "w:" + k)
    assert assert_spread_once(clean_trio, KEYS) == first
    mc.disconnect_all()
    other.disconnect_all()


def test_pylibmc_ketama_survives_a_dead_server(server_factory):
    servers = [server_factory() for _ in range(3)]
    mc = pylibmc_client(servers, **EJECT)
    for k in KEYS:
        assert mc.set(k, "v:" + k)
    where = assert_spread_once(servers, KEYS)
    kill(servers[1])
    # Keys on the live servers are still read through the client (each of these requests goes
    # to a live server, so they succeed even before the dead one is noticed).
    live_keys = [k for k in KEYS if where[k] != 1]
    assert all(mc.get(k) == "v:" + k for k in live_keys)
    # The dead server's keys fail until libmemcached ejects it, then re-home on the others.
    dead_keys = [k for k in KEYS if where[k] == 1]
    deadline = time.monotonic() + 15
    while True:
        try:
            if mc.set(dead_keys[0], "new") and mc.get(dead_keys[0]) == "new":
                break
        except pylibmc.Error:
            pass
        assert time.monotonic() < deadline, "libmemcached never ejected the dead server"
        time.sleep(0.01)  # poll interval
    for k in dead_keys:
        assert mc.set(k, "re:" + k)
    assert mc.get_multi(dead_keys) == {k: "re:" + k for k in dead_keys}
    # ejecting one server did not move the others' keys
    assert mc.get_multi(live_keys) == {k: "v:" + k for k in live_keys}
    alive = [servers[0], servers[2]]
    new_where = owners(alive, dead_keys)
    assert all(len(v) == 1 for v in new_where.values())
    mc.disconnect_all()
