"""cachet_django's extras (clients/python): prefix deletes, key listing, TTLs, prefix-only clear,
over one server, a Unix socket and three servers. The stock methods run in test_django.py, where
cachet_django is one more backend. A cachet extension: skipped against memcached."""
import json
import lzma
import os
import pickle
import sys
import threading
import time
import zlib

import msgpack  # Debian's python3-msgpack and python3-zstandard, installed by make test
import pytest
import zstandard

from conftest import IS_MEMCACHED, debugtime

pytestmark = [pytest.mark.skipif(IS_MEMCACHED, reason="cachet extension"),
              pytest.mark.filterwarnings(
                  "ignore::django.utils.deprecation.RemovedInDjango41Warning")]

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "clients", "python"))
# Django's settings as test_django.py configures them (whichever module pytest imports first).
import test_django  # noqa: E402,F401

from cachet_django import CachetCache, NodeError  # noqa: E402
from django.core.cache.backends.memcached import PyMemcacheCache  # noqa: E402
from client_helpers import flush, raw_get  # noqa: E402


@pytest.fixture(scope="module")
def server_sets(module_server_factory):
    return {"tcp": [module_server_factory()], "unix": [module_server_factory(unix=True)],
            "tcp3": [module_server_factory() for _ in range(3)]}


@pytest.fixture(params=["tcp", "unix", "tcp3"])
def servers(request, server_sets):
    for s in server_sets[request.param]:
        flush(s)
    return server_sets[request.param]


def make(servers, **params):
    location = [s.location for s in servers] if len(servers) > 1 else servers[0].location
    params.setdefault("TIMEOUT", 300)
    return CachetCache(location, params)


def test_delete_prefix_drops_only_the_prefix(servers):
    cache = make(servers, KEY_PREFIX="app", VERSION=1)
    for i in range(30):
        cache.set(f"user:{i}:profile", i)
        cache.set(f"post:{i}", i)
    cache.set("user:1:profile", "other version", version=2)
    assert cache.delete_prefix("user:") == 30  # the keys the sweeps dropped, summed
    assert cache.get_many([f"user:{i}:profile" for i in range(30)]) == {}
    assert cache.get("user:1:profile", version=2) == "other version"  # another version's key
    assert cache.get_many([f"post:{i}" for i in range(30)]) == {f"post:{i}": i for i in range(30)}
    cache.set("user:1:profile", "new")  # written after: kept
    assert cache.get("user:1:profile") == "new"
    assert cache.delete_prefix("post:", wait=False) == len(servers)  # the nodes that took it
    assert cache.get("post:3") is None
    cache.set("user:9:profile", "v")
    assert cache.delete_prefix("user:", stale=True) == 2  # user:1 (new) and user:9
    assert cache.get("user:9:profile") == "v"  # stale: still served to classic reads
    cache.close()


def test_delete_pattern(servers):
    cache = make(servers, KEY_PREFIX="p")
    for k in ("a:1", "a:2", "b:1", "ab"):
        cache.set(k, k)
    assert cache.delete_pattern("a:*") == 2               # a prefix glob: mp
    assert cache.get_many(["a:1", "a:2", "b:1", "ab"]) == {"b:1": "b:1", "ab": "ab"}
    assert cache.delete_pattern("?b") == 1               # any other glob: list and delete
    assert cache.get_many(["b:1", "ab"]) == {"b:1": "b:1"}
    cache.close()


def test_keys_and_iter_keys_list_every_node(servers):
    cache = make(servers, KEY_PREFIX="k", VERSION=3)
    names = [f"item:{i}" for i in range(40)]
    cache.set_many({n: 1 for n in names})
    cache.set("item:99", 1, version=4)      # another version: not listed
    make(servers, KEY_PREFIX="other").set("item:5", 1)  # another prefix: not listed
    assert sorted(cache.keys("item:*")) == sorted(names)
    assert sorted(cache.iter_keys("item:1*")) == sorted(n for n in names if n.startswith("item:1"))
    assert cache.keys("nothing*") == []
    cache.close()


def test_ttl_expire_persist(servers):
    cache = make(servers, KEY_PREFIX="t")
    cache.set("a", 1, timeout=100)
    assert cache.ttl("a") in (99, 100)
    cache.set("forever", 1, timeout=None)
    assert cache.ttl("forever") is None
    assert cache.ttl("missing") == 0
    assert cache.persist("a") is True
    assert cache.ttl("a") is None
    assert cache.expire("a", 50) is True
    assert cache.ttl("a") in (49, 50)
    assert cache.expire("missing", 50) is False
    assert cache.expire_at("a", time.time() + 40) is True
    assert cache.ttl("a") in (38, 39, 40)
    cache.set("b", 1)
    assert cache.expire_at("b", time.time() - 1) is True  # in the past: gone
    assert cache.get("b") is None
    for s in servers:
        debugtime(s, 60)
    assert cache.get("a") is None
    cache.close()


def test_clear_prefix_only_keeps_other_prefixes(servers):
    mine = make(servers, KEY_PREFIX="mine")
    theirs = make(servers, KEY_PREFIX="theirs")
    mine.set_many({f"x{i}": i for i in range(20)})
    theirs.set_many({f"x{i}": i for i in range(20)})
    mine.clear(prefix_only=True)
    assert mine.get_many([f"x{i}" for i in range(20)]) == {}
    assert len(theirs.get_many([f"x{i}" for i in range(20)])) == 20
    mine.clear()  # Django's clear: every node flushed
    assert theirs.get_many([f"x{i}" for i in range(20)]) == {}
    mine.close()
    theirs.close()


def test_a_dead_node_is_named(server_factory):
    s = server_factory()
    cache = CachetCache(s.location, {})
    quiet = CachetCache(s.location, {"OPTIONS": {"IGNORE_EXCEPTIONS": True}})
    cache.set("k", 1)
    quiet.set("k", 1)
    s.proc.kill()
    s.proc.wait()
    with pytest.raises(NodeError, match=s.location.split(":")[-1]):
        cache.delete_prefix("k")
    assert quiet.delete_prefix("k") == 0  # ignored, as django-redis's IGNORE_EXCEPTIONS
    cache.close()
    quiet.close()


def test_get_or_set_computes_a_missing_value_once(servers):
    location = [s.location for s in servers] if len(servers) > 1 else servers[0].location
    calls, results = [], []
    start = threading.Barrier(50)

    def default():
        calls.append(1)
        time.sleep(0.2)  # a slow computation the others must not repeat
        return {"answer": 42}

    def worker():
        cache = CachetCache(location, {"KEY_PREFIX": "s"})  # one client per thread, as Django
        start.wait()
        results.append(cache.get_or_set("hot", default, timeout=60))
        cache.close()

    threads = [threading.Thread(target=worker) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert results == [{"answer": 42}] * 50
    cache = make(servers, KEY_PREFIX="s")
    assert cache.get("hot") == {"answer": 42}  # readable by the stock path too
    assert cache.get_or_set("hot", lambda: 1 / 0) == {"answer": 42}  # a hit computes nothing
    assert cache.get_or_set("none", None) is None and cache.get("none") is None
    cache.close()


def test_set_nx_xx_and_incr_create(servers):
    cache = make(servers, KEY_PREFIX="x")
    assert cache.set("a", 1, nx=True) is True
    assert cache.set("a", 2, nx=True) is False
    assert cache.get("a") == 1
    assert cache.set("a", 3, xx=True) is True
    assert cache.set("missing", 3, xx=True) is False
    assert cache.get_many(["a", "missing"]) == {"a": 3}
    with pytest.raises(ValueError):
        cache.set("a", 1, nx=True, xx=True)
    with pytest.raises(ValueError):
        cache.incr("counter")  # Django's behaviour without create
    assert cache.incr("counter", 5, create=True) == 5
    cache.touch("counter", 100)
    assert cache.incr("counter", 2, create=True) == 7
    assert cache.ttl("counter") in (99, 100)  # incr keeps the TTL
    cache.close()


def test_lock_is_held_by_one_and_released_by_its_holder(servers):
    cache = make(servers, KEY_PREFIX="l")
    other = make(servers, KEY_PREFIX="l")
    first = cache.lock("job", timeout=30)
    assert first.acquire(blocking=False) is True
    second = other.lock("job", timeout=30)
    assert second.acquire(blocking=False) is False
    assert second.acquire(blocking_timeout=0.1) is False
    assert second.release() is False  # never held
    assert first.locked() is True
    assert first.release() is True
    with second:
        assert cache.lock("job").acquire(blocking=False) is False
    assert first.acquire(blocking=False) is True
    cache.delete("job")  # evicted or flushed under its holder
    assert first.release() is False
    cache.close()
    other.close()


@pytest.mark.parametrize("options", [
    {"SERIALIZER": "json"}, {"COMPRESSOR": "zlib", "COMPRESS_MIN_LEN": 10},
    {"SERIALIZER": "json", "COMPRESSOR": "lzma", "COMPRESS_MIN_LEN": 0},
    {"SERIALIZER": "msgpack"}, {"SERIALIZER": "msgpack", "COMPRESSOR": "zstd"},
    {"COMPRESSOR": "zstd", "COMPRESS_MIN_LEN": 100}])
def test_serializers_and_compressors(servers, options):
    cache = make(servers, KEY_PREFIX="z", OPTIONS=dict(options))
    doc = {"name": "x" * 2000, "n": [1, 2, 3]}
    cache.set("doc", doc)
    assert cache.get("doc") == doc
    cache.set("n", 41)
    assert cache.incr("n") == 42  # integers stay incr-able
    stock = PyMemcacheCache(cache._servers, {"KEY_PREFIX": "z"})
    assert stock.get("n") == 42
    full = cache.make_key("doc").encode()
    (flags, raw), = [h for h in (raw_get(s, full) for s in servers) if h is not None]
    serializer = options.get("SERIALIZER", "pickle")
    expected = {"json": json.dumps(doc, separators=(",", ":")).encode(),
                "pickle": pickle.dumps(doc, pickle.HIGHEST_PROTOCOL),
                "msgpack": msgpack.packb(doc, use_bin_type=True)}[serializer]
    decompress = {"zlib": zlib.decompress, "lzma": lzma.decompress,
                  "zstd": lambda b: zstandard.ZstdDecompressor().decompress(b),
                  None: lambda b: b}[options.get("COMPRESSOR")]
    # On the wire: the serializer's bytes, compressed when asked (2 KB of x: well under 500 B).
    assert decompress(raw) == expected
    assert (len(raw) < 500) == ("COMPRESSOR" in options)
    bit = {"json": 8, "msgpack": 9, "pickle": 10}[serializer]
    assert flags & (1 << bit)
    if "COMPRESSOR" in options:
        assert flags & {"zlib": 1 << 12, "lzma": 1 << 13, "zstd": 1 << 14}[options["COMPRESSOR"]]
    stock.close()
    cache.close()


def test_defaults_stay_readable_by_the_stock_backend(servers):
    cache = make(servers, KEY_PREFIX="d")
    stock = PyMemcacheCache(cache._servers, {"KEY_PREFIX": "d"})
    cache.set("obj", {"a": [1, 2]})
    stock.set("s", "text")
    assert stock.get("obj") == {"a": [1, 2]}
    assert cache.get("s") == "text"
    with pytest.raises(ValueError):
        make(servers, OPTIONS={"SERIALIZER": "yaml"})
    stock.close()
    cache.close()


def test_get_or_set_stale_ttl_recomputes_early_once(servers):
    cache = make(servers, KEY_PREFIX="r")
    others = [make(servers, KEY_PREFIX="r") for _ in range(3)]
    cache.set("page", "v1", timeout=100)
    calls, meanwhile = [], []

    def recompute():
        calls.append(1)
        # While the winner recomputes, the others are served the current value.
        meanwhile.extend(c.get_or_set("page", recompute, 100, stale_ttl=30) for c in others)
        return "v2"

    # 100 s left, more than stale_ttl: nobody recomputes.
    assert [c.get_or_set("page", recompute, 100, stale_ttl=30) for c in others] == ["v1"] * 3
    assert calls == []
    for s in servers:
        debugtime(s, 80)  # 20 s left: the first caller wins the recache
    assert cache.get_or_set("page", recompute, 100, stale_ttl=30) == "v2"
    assert calls == [1] and meanwhile == ["v1"] * 3
    assert [c.get_or_set("page", recompute, 100, stale_ttl=30) for c in others] == ["v2"] * 3
    assert cache.ttl("page") in (99, 100) and calls == [1]
    for c in [cache] + others:
        c.close()
