"""Django 3.2's memcached cache backends against the server under test.

Every workflow runs for the three backends (PyMemcacheCache -> pymemcache.HashClient,
PyLibMCCache -> pylibmc/libmemcached, MemcachedCache -> python-memcached) crossed with three
LOCATION forms: "127.0.0.1:PORT", "unix:/path/to.sock" and a list of three TCP servers.
"""
import os
import sys
import warnings

import pytest

with warnings.catch_warnings():
    # Python 3.11+ deprecations raised while Django 3.2 imports (cgi, getdefaultlocale)
    warnings.simplefilter("ignore", DeprecationWarning)
    import django
    from django.conf import settings
    import django.http  # noqa: F401
    import django.utils.encoding  # noqa: F401

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="cachet-integration-tests",
        ALLOWED_HOSTS=["testserver"],
        INSTALLED_APPS=[],
        MIDDLEWARE=[],
        # Tests point "default" at the server under test with override_settings; locmem
        # here means nothing silently reaches a real server outside such a block.
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates"}],
        USE_TZ=True,
    )
    django.setup()

from django.contrib.sessions.backends.cache import SessionStore  # noqa: E402
from django.core.cache import InvalidCacheKey, caches  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.middleware.cache import (  # noqa: E402
    FetchFromCacheMiddleware, UpdateCacheMiddleware)
from django.template import Context, Template  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from django.test.utils import override_settings  # noqa: E402
from django.utils.module_loading import import_string  # noqa: E402
from django.views.decorators.cache import cache_page  # noqa: E402

from conftest import IS_MEMCACHED, debugtime  # noqa: E402
from client_helpers import flush, raw_get, raw_stats  # noqa: E402

pytestmark = pytest.mark.filterwarnings(
    "ignore::django.utils.deprecation.RemovedInDjango41Warning")

BACKENDS = {
    "pymemcache": "django.core.cache.backends.memcached.PyMemcacheCache",
    "pylibmc": "django.core.cache.backends.memcached.PyLibMCCache",
    "python-memcached": "django.core.cache.backends.memcached.MemcachedCache",
}
if not IS_MEMCACHED:  # cachet's own backend (clients/python) must behave as the stock ones
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "clients", "python"))
    BACKENDS["cachet_django"] = "cachet_django.CachetCache"
FORMS = ["tcp", "unix", "tcp3"]
DAYS = 86400


class Target:
    """One backend class aimed at one LOCATION form, plus the servers behind it."""

    def __init__(self, backend, form, servers):
        self.backend = backend
        self.backend_path = BACKENDS[backend]
        self.form = form
        self.servers = servers
        if form == "tcp3":
            self.location = [s.location for s in servers]
        else:
            self.location = servers[0].location  # "127.0.0.1:PORT" or "unix:/path"

    def make(self, **params):
        """A backend instance built directly, as CacheHandler would."""
        params.setdefault("TIMEOUT", 300)
        return import_string(self.backend_path)(self.location, params)

    def settings(self, **params):
        return {"default": {"BACKEND": self.backend_path, "LOCATION": self.location,
                            **params}}

    def advance(self, seconds):
        """Moves every server's clock; skips the test on release memcached."""
        for s in self.servers:
            debugtime(s, seconds)

    def raw_find(self, key):
        """(flags, value) of a full memcached key on whichever server holds it."""
        hits = [h for h in (raw_get(s, key) for s in self.servers) if h is not None]
        assert len(hits) <= 1, hits
        return hits[0] if hits else None


@pytest.fixture(scope="module")
def server_sets(module_server_factory):
    return {
        "tcp": [module_server_factory()],
        "unix": [module_server_factory(unix=True)],
        "tcp3": [module_server_factory() for _ in range(3)],
    }


@pytest.fixture(params=[(b, f) for b in BACKENDS for f in FORMS],
                ids=[f"{b}-{f}" for b in BACKENDS for f in FORMS])
def target(request, server_sets):
    backend, form = request.param
    servers = server_sets[form]
    for s in servers:
        flush(s)
    return Target(backend, form, servers)


@pytest.fixture
def cache(target):
    c = target.make(KEY_PREFIX="t", VERSION=1)
    yield c
    c.close()


@pytest.fixture
def default_cache(target):
    """settings.CACHES["default"] points at the target while the test runs."""
    with override_settings(CACHES=target.settings()):
        yield caches["default"]


# --------------------------------------------------------------------------- low-level API

def test_set_get_incr_decr_delete(cache, target):
    assert cache.get("absent") is None
    assert cache.get("absent", "fallback") == "fallback"
    cache.set("text", "hello")
    cache.set("struct", {"a": [1, 2, (3, 4)], "b": None})
    cache.set("bytes", b"\x00\r\nEND\r\n")
    assert cache.get("text") == "hello"
    assert cache.get("struct") == {"a": [1, 2, (3, 4)], "b": None}
    assert cache.get("bytes") == b"\x00\r\nEND\r\n"
    # the value really lives on a server, under "<prefix>:<version>:<key>"
    assert target.raw_find(b"t:1:text") is not None

    cache.set("n", 10)
    assert cache.incr("n") == 11
    assert cache.incr("n", 9) == 20
    assert cache.decr("n", 5) == 15
    assert cache.incr("n", -5) == 10     # negative delta becomes decr
    assert cache.decr("n", -2) == 12     # ... and incr
    assert cache.get("n") == 12
    assert cache.decr("n", 100) == 0     # memcached stops at zero
    assert cache.get("n") == 0
    with pytest.raises(ValueError):
        cache.incr("no-such-counter")
    with pytest.raises(ValueError):
        cache.decr("no-such-counter")

    assert cache.delete("text") is True
    assert cache.get("text") is None
    assert cache.delete("text") is False
    assert target.raw_find(b"t:1:text") is None


def test_unicode_keys_and_values(cache):
    cache.set("ключ-🔑", "значение ✓")
    assert cache.get("ключ-🔑") == "значение ✓"
    assert cache.get_many(["ключ-🔑", "ключ"]) == {"ключ-🔑": "значение ✓"}


def test_timeout_zero_means_not_stored(cache, target):
    """Django turns timeout=0 into exptime -1 (pylibmc sends it as 4294967295)."""
    cache.set("zero", "old")
    assert cache.get("zero") == "old"
    cache.set("zero", "new", timeout=0)
    assert cache.get("zero") is None
    assert target.raw_find(b"t:1:zero") is None
    cache.add("zero-add", 1, timeout=0)
    assert cache.get("zero-add") is None
    assert cache.set_many({"z1": 1, "z2": 2}, timeout=0) == []
    assert cache.get_many(["z1", "z2"]) == {}
    assert not cache.has_key("z1")


def test_timeout_none_and_beyond_thirty_days_are_stored(cache, target):
    cache.set("forever", "f", timeout=None)
    cache.set("month", "m", timeout=40 * DAYS)   # sent as an absolute unix time
    cache.set("exactly30", "e", timeout=30 * DAYS)
    cache.add("month-add", "a", timeout=365 * DAYS)
    assert cache.get_many(["forever", "month", "exactly30", "month-add"]) == {
        "forever": "f", "month": "m", "exactly30": "e", "month-add": "a"}
    assert cache.touch("forever", 60 * DAYS) is True
    assert cache.touch("month", None) is True
    assert cache.get_many(["forever", "month"]) == {"forever": "f", "month": "m"}
    assert target.raw_find(b"t:1:month") is not None


def test_timeouts_expire_on_server_clock(cache, target):
    # Two seconds, not one: the server's clock may tick once before get_many reads them back.
    cache.set("one-second", "a", timeout=2)
    cache.set("default", "b")                     # TIMEOUT 300
    cache.set("forever", "c", timeout=None)
    cache.set("month", "d", timeout=40 * DAYS)
    cache.set("touched", "e", timeout=None)
    assert cache.touch("touched", 2) is True
    everything = {"one-second": "a", "default": "b", "forever": "c", "month": "d",
                  "touched": "e"}
    assert cache.get_many(list(everything)) == everything

    target.advance(3)  # skips here on release memcached
    assert cache.get("one-second") is None
    assert cache.get("touched") is None
    assert cache.get_many(["default", "forever", "month"]) == {
        "default": "b", "forever": "c", "month": "d"}

    target.advance(300)
    assert cache.get("default") is None
    assert cache.get_many(["forever", "month"]) == {"forever": "c", "month": "d"}


def test_get_or_set(cache):
    calls = []

    def compute():
        calls.append(1)
        return {"computed": len(calls)}

    assert cache.get_or_set("gos", compute) == {"computed": 1}
    assert cache.get_or_set("gos", compute) == {"computed": 1}
    assert calls == [1]
    assert cache.get("gos") == {"computed": 1}
    assert cache.get_or_set("gos-plain", "value", timeout=None) == "value"
    assert cache.get_or_set("gos-plain", "other") == "value"


def test_set_many_get_many_delete_many(cache, target):
    data = {f"many-{i}": {"i": i, "s": "x" * i} for i in range(40)}
    before = [int(raw_stats(s)["total_items"]) for s in target.servers]
    assert cache.set_many(data) == []
    after = [int(raw_stats(s)["total_items"]) for s in target.servers]
    # with several servers, keys are spread over all of them
    assert all(a > b for a, b in zip(after, before)), (before, after)
    assert sum(after) - sum(before) == len(data)
    assert cache.get_many(list(data) + ["many-missing"]) == data
    cache.delete_many([f"many-{i}" for i in range(20)])
    left = cache.get_many(list(data))
    assert left == {k: v for k, v in data.items() if int(k.split("-")[1]) >= 20}
    cache.delete_many(list(data))
    assert cache.get_many(list(data)) == {}


def test_has_key_and_add(cache):
    assert cache.has_key("hk") is False
    assert "hk" not in cache
    assert cache.add("hk", "first") is True
    assert cache.has_key("hk") is True
    assert "hk" in cache
    assert cache.add("hk", "second") is False
    assert cache.get("hk") == "first"


def test_touch(cache):
    assert cache.touch("tk") is False
    cache.set("tk", "v", timeout=10)
    assert cache.touch("tk") is True          # default TIMEOUT
    assert cache.touch("tk", 1000) is True
    assert cache.touch("tk", None) is True
    assert cache.get("tk") == "v"
    # timeout=0: "touch <key> -1" (pylibmc: delete); the key is gone at once
    assert cache.touch("tk", 0)
    assert cache.get("tk") is None


def test_clear(cache, target):
    cache.set_many({f"c{i}": i for i in range(12)})
    other = target.make(KEY_PREFIX="other")
    other.set("o", 1)
    cache.clear()
    assert cache.get_many([f"c{i}" for i in range(12)]) == {}
    assert other.get("o") is None  # clear() is flush_all: every prefix goes
    cache.set("after-clear", 1)
    assert cache.get("after-clear") == 1
    other.close()


def test_versioning(cache, target):
    cache.set("ver", "v1")
    cache.set("ver", "v2", version=2)
    assert cache.get("ver") == "v1"
    assert cache.get("ver", version=2) == "v2"
    assert target.raw_find(b"t:2:ver") is not None
    assert cache.incr_version("ver", version=2) == 3
    assert cache.get("ver", version=2) is None
    assert cache.get("ver", version=3) == "v2"
    assert target.raw_find(b"t:2:ver") is None
    assert cache.decr_version("ver", version=3) == 2
    assert cache.get("ver", version=2) == "v2"
    assert cache.get("ver") == "v1"
    with pytest.raises(ValueError):
        cache.incr_version("no-such-key")
    # an instance with VERSION=2 reads version 2 by default
    v2 = target.make(KEY_PREFIX="t", VERSION=2)
    assert v2.get("ver") == "v2"
    v2.set("only-v2", 1)
    assert cache.get("only-v2") is None
    assert cache.get("only-v2", version=2) == 1
    v2.close()


def test_key_prefix_isolation(target):
    alpha = target.make(KEY_PREFIX="alpha")
    beta = target.make(KEY_PREFIX="beta")
    alpha_again = target.make(KEY_PREFIX="alpha")
    try:
        alpha.set("shared", "from-alpha")
        assert beta.get("shared") is None
        beta.set("shared", "from-beta")
        assert alpha.get("shared") == "from-alpha"
        assert alpha_again.get("shared") == "from-alpha"
        assert beta.get("shared") == "from-beta"
        assert target.raw_find(b"alpha:1:shared") is not None
        assert target.raw_find(b"beta:1:shared") is not None
        alpha.delete("shared")
        assert alpha_again.get("shared") is None
        assert beta.get("shared") == "from-beta"
        alpha.set("counter", 1)
        beta.set("counter", 100)
        assert alpha.incr("counter") == 2
        assert beta.get("counter") == 100
    finally:
        alpha.close()
        beta.close()
        alpha_again.close()


def test_long_keys_validated(cache, target):
    # KEY_PREFIX "t" and VERSION 1 make the memcached key "t:1:" + key
    longest = "k" * 246
    cache.set(longest, "fits")
    assert cache.get(longest) == "fits"
    assert cache.get_many([longest]) == {longest: "fits"}
    assert target.raw_find(("t:1:" + longest).encode()) is not None
    too_long = "k" * 247
    with pytest.raises(InvalidCacheKey):
        cache.set(too_long, "nope")
    with pytest.raises(InvalidCacheKey):
        cache.get(too_long)
    with pytest.raises(InvalidCacheKey):
        cache.get_many(["ok", too_long])
    with pytest.raises(InvalidCacheKey):
        cache.set("has space", 1)
    with pytest.raises(InvalidCacheKey):
        cache.set("has\nnewline", 1)
    assert cache.get(longest) == "fits"


# --------------------------------------------------------------------------- via settings

def counting_view():
    calls = []

    def view(request):
        calls.append(request.get_full_path())
        return HttpResponse(f"response #{len(calls)} for {request.get_full_path()}")

    return view, calls


def test_cache_page(default_cache, target):
    view, calls = counting_view()
    cached_view = cache_page(60)(view)
    rf = RequestFactory()
    stored_before = sum(int(raw_stats(s)["total_items"]) for s in target.servers)
    first = cached_view(rf.get("/page/"))
    second = cached_view(rf.get("/page/"))
    assert calls == ["/page/"]
    # the page (and its header list) went to the server
    assert sum(int(raw_stats(s)["total_items"]) for s in target.servers) >= stored_before + 2
    assert first.status_code == second.status_code == 200
    assert second.content == first.content == b"response #1 for /page/"
    assert "max-age=60" in second["Cache-Control"]
    # another URL is another cache entry
    assert cached_view(rf.get("/page/?q=1")).content == b"response #2 for /page/?q=1"
    assert cached_view(rf.get("/page/?q=1")).content == b"response #2 for /page/?q=1"
    # POST is never served from the cache
    cached_view(rf.post("/page/"))
    assert len(calls) == 3
    # clearing the server makes the view run again
    default_cache.clear()
    assert cached_view(rf.get("/page/")).content == b"response #4 for /page/"
    assert len(calls) == 4


def test_per_site_cache_middleware(default_cache):
    view, calls = counting_view()
    with override_settings(CACHE_MIDDLEWARE_SECONDS=120, CACHE_MIDDLEWARE_KEY_PREFIX="site"):
        # MIDDLEWARE = [UpdateCacheMiddleware, ..., FetchFromCacheMiddleware]
        handler = UpdateCacheMiddleware(FetchFromCacheMiddleware(view))
        rf = RequestFactory()
        first = handler(rf.get("/site/"))
        second = handler(rf.get("/site/"))
        assert calls == ["/site/"]
        assert second.content == first.content == b"response #1 for /site/"
        assert "max-age=120" in second["Cache-Control"]
        handler(rf.get("/other/"))
        handler(rf.get("/other/"))
        assert calls == ["/site/", "/other/"]
        # a fresh middleware stack (another process, say) reads the same server
        handler2 = UpdateCacheMiddleware(FetchFromCacheMiddleware(view))
        assert handler2(rf.get("/site/")).content == b"response #1 for /site/"
        assert len(calls) == 2
        default_cache.clear()
        assert handler(rf.get("/site/")).content == b"response #3 for /site/"


def test_template_fragment_cache(default_cache):
    template = Template(
        "{% load cache %}[{{ value }}]{% cache 300 frag who %}<{{ value }}>{% endcache %}")
    assert template.render(Context({"value": "one", "who": "a"})) == "[one]<one>"
    # the fragment is cached; the rest of the template is not
    assert template.render(Context({"value": "two", "who": "a"})) == "[two]<one>"
    # vary_on arguments select another fragment
    assert template.render(Context({"value": "three", "who": "b"})) == "[three]<three>"
    assert template.render(Context({"value": "four", "who": "a"})) == "[four]<one>"
    default_cache.clear()
    assert template.render(Context({"value": "five", "who": "a"})) == "[five]<five>"


def test_cached_sessions(default_cache, target):
    session = SessionStore()
    session["user_id"] = 42
    session["cart"] = ["apple"]
    session.save()
    key = session.session_key
    assert key
    assert SessionStore().exists(key)
    # the session lives on the server under Django's cache key
    full_key = default_cache.make_key(session.cache_key)
    assert target.raw_find(full_key.encode()) is not None

    loaded = SessionStore(session_key=key)
    assert loaded["user_id"] == 42
    assert loaded["cart"] == ["apple"]
    loaded["cart"] = ["apple", "pear"]
    loaded.save()
    assert SessionStore(session_key=key).load() == {"user_id": 42, "cart": ["apple", "pear"]}

    loaded.delete()
    assert not SessionStore().exists(key)
    assert SessionStore(session_key=key).load() == {}
    assert target.raw_find(full_key.encode()) is None

    other = SessionStore()
    other["x"] = 1
    other.save()
    assert SessionStore().exists(other.session_key)
    default_cache.clear()
    assert not SessionStore().exists(other.session_key)


# --------------------------------------------------------------------------- LOCATION forms

def test_unix_socket_location_spellings(server_sets):
    """Django 3.2 docs: pylibmc takes a bare path (a "unix:" prefix is stripped);
    pymemcache takes "unix:/path" or a bare path; python-memcached needs "unix:/path"."""
    server = server_sets["unix"][0]
    flush(server)
    path = server.socket_path
    spellings = [
        ("pylibmc", path),
        ("pylibmc", "unix:" + path),
        ("pymemcache", path),
        ("pymemcache", "unix:" + path),
        ("python-memcached", "unix:" + path),
    ]
    for i, (backend, location) in enumerate(spellings):
        c = import_string(BACKENDS[backend])(location, {"KEY_PREFIX": "sp"})
        try:
            c.set(f"spelling-{i}", location)
            assert c.get(f"spelling-{i}") == location
        finally:
            c.close()
        assert raw_get(server, f"sp:1:spelling-{i}") is not None


def test_semicolon_separated_location(server_sets):
    servers = server_sets["tcp3"]
    for s in servers:
        flush(s)
    location = ";".join(s.location for s in servers)
    for backend in BACKENDS:
        c = import_string(BACKENDS[backend])(location, {"KEY_PREFIX": backend})
        try:
            data = {f"semi-{i}": i for i in range(30)}
            assert c.set_many(data) == []
            assert c.get_many(list(data)) == data
        finally:
            c.close()
