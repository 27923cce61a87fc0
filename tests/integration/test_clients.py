"""Real client libraries (from Debian packages) against the server under test.

pymemcache (Client, HashClient), pylibmc (libmemcached; text and binary, one workflow
parametrized over both) and python-memcached each speak the protocol a little differently
(trailing spaces, `noreply`, flags, exptime forms); these tests drive the server through each
of them over TCP and Unix sockets.
"""
import os

import pytest

import memcache
import pylibmc
from pymemcache.client.base import Client as PymemcacheClient
from pymemcache.client.hash import HashClient
from pymemcache.exceptions import MemcacheServerError

from conftest import Conn, debugtime
from client_helpers import curr_items, flush, raw_get, raw_stats

MAX_U64 = 2**64 - 1


@pytest.fixture
def server(tcp_server):
    """The module's TCP server, flushed (overrides conftest's per-test server)."""
    flush(tcp_server)
    return tcp_server


@pytest.fixture
def userver(unix_server):
    flush(unix_server)
    return unix_server


# --------------------------------------------------------------------------- pymemcache

@pytest.fixture
def pmc(server):
    c = PymemcacheClient(server.address, connect_timeout=5, timeout=5)
    yield c
    c.close()


def test_pymemcache_set_get(pmc, server):
    assert pmc.set("greeting", b"hello", noreply=False) is True
    assert pmc.get("greeting") == b"hello"
    assert pmc.get("missing") is None
    assert pmc.get("missing", default=b"dflt") == b"dflt"
    # Stored with flags 0, exactly the bytes sent.
    assert raw_get(server, b"greeting") == (0, b"hello")


def test_pymemcache_flags_roundtrip(pmc, server):
    assert pmc.set("flagged", b"x", flags=4294967295, noreply=False)
    assert raw_get(server, b"flagged") == (4294967295, b"x")


def test_pymemcache_get_many_set_many(pmc):
    values = {f"many:{i}": str(i).encode() * (i + 1) for i in range(20)}
    assert pmc.set_many(values, noreply=False) == []
    got = pmc.get_many(list(values) + ["many:absent"])
    assert got == values
    assert pmc.get_many([]) == {}


def test_pymemcache_add_replace(pmc):
    assert pmc.add("ar", b"first", noreply=False) is True
    assert pmc.add("ar", b"second", noreply=False) is False
    assert pmc.get("ar") == b"first"
    assert pmc.replace("ar", b"third", noreply=False) is True
    assert pmc.get("ar") == b"third"
    assert pmc.replace("ar-missing", b"x", noreply=False) is False
    assert pmc.get("ar-missing") is None


def test_pymemcache_append_prepend(pmc):
    assert pmc.append("ap", b"tail", noreply=False) is False
    assert pmc.prepend("ap", b"head", noreply=False) is False
    assert pmc.get("ap") is None
    pmc.set("ap", b"middle", noreply=False)
    assert pmc.append("ap", b"-tail", noreply=False) is True
    assert pmc.prepend("ap", b"head-", noreply=False) is True
    assert pmc.get("ap") == b"head-middle-tail"


def test_pymemcache_gets_cas(pmc):
    assert pmc.gets("cask") == (None, None)
    # cas on a missing key is NOT_FOUND -> None
    assert pmc.cas("cask", b"v", 12345) is None
    pmc.set("cask", b"v1", noreply=False)
    value, cas = pmc.gets("cask")
    assert value == b"v1" and cas.isdigit()
    assert pmc.cas("cask", b"v2", cas) is True
    assert pmc.get("cask") == b"v2"
    # the old cas token is stale now
    assert pmc.cas("cask", b"v3", cas) is False
    assert pmc.get("cask") == b"v2"
    value2, cas2 = pmc.gets("cask")
    assert value2 == b"v2" and cas2 != cas
    # any modification changes the cas unique
    pmc.append("cask", b"!", noreply=False)
    assert pmc.cas("cask", b"v4", cas2) is False
    assert pmc.get("cask") == b"v2!"


def test_pymemcache_gets_many(pmc):
    pmc.set_many({"g1": b"a", "g2": b"b"}, noreply=False)
    got = pmc.gets_many(["g1", "g2", "g3"])
    assert set(got) == {"g1", "g2"}
    assert got["g1"][0] == b"a" and got["g2"][0] == b"b"
    assert got["g1"][1] != got["g2"][1]


def test_pymemcache_incr_decr(pmc):
    assert pmc.incr("ctr", 1) is None  # NOT_FOUND
    assert pmc.decr("ctr", 1) is None
    pmc.set("ctr", b"10", noreply=False)
    assert pmc.incr("ctr", 5) == 15
    assert pmc.decr("ctr", 3) == 12
    assert pmc.get("ctr") == b"12"
    # decr stops at zero instead of going negative
    assert pmc.decr("ctr", 100) == 0
    # memcached rewrites a shorter result in place, padded with spaces to the old length
    assert pmc.get("ctr").rstrip(b" ") == b"0"
    assert pmc.decr("ctr", 1) == 0
    pmc.set("ctr", b"1000", noreply=False)
    assert pmc.decr("ctr", 991) == 9
    assert pmc.get("ctr").rstrip(b" ") == b"9"
    # a padded value still counts as a number
    assert pmc.incr("ctr", 991) == 1000
    assert pmc.get("ctr") == b"1000"


def test_pymemcache_incr_wraps_64_bit(pmc):
    pmc.set("wrap", str(MAX_U64).encode(), noreply=False)
    assert pmc.incr("wrap", 1) == 0
    assert pmc.get("wrap").rstrip(b" ") == b"0"
    pmc.set("wrap", str(MAX_U64 - 1).encode(), noreply=False)
    assert pmc.incr("wrap", 3) == 1
    assert pmc.incr("wrap", MAX_U64) == 0
    # the largest delta is accepted too
    pmc.set("wrap", b"5", noreply=False)
    assert pmc.decr("wrap", MAX_U64) == 0


def test_pymemcache_incr_non_numeric(pmc):
    from pymemcache.exceptions import MemcacheClientError
    pmc.set("notnum", b"abc", noreply=False)
    with pytest.raises(MemcacheClientError):
        pmc.incr("notnum", 1)
    assert pmc.get("notnum") == b"abc"


def test_pymemcache_delete(pmc):
    pmc.set("del", b"x", noreply=False)
    assert pmc.delete("del", noreply=False) is True
    assert pmc.get("del") is None
    assert pmc.delete("del", noreply=False) is False
    pmc.set_many({"d1": b"1", "d2": b"2"}, noreply=False)
    assert pmc.delete_many(["d1", "d2", "d3"], noreply=False) is True
    assert pmc.get_many(["d1", "d2"]) == {}


def test_pymemcache_touch(pmc, server):
    assert pmc.touch("touchy", 100, noreply=False) is False
    pmc.set("touchy", b"x", noreply=False)
    assert pmc.touch("touchy", 100, noreply=False) is True
    assert pmc.touch("touchy", 0, noreply=False) is True
    assert pmc.get("touchy") == b"x"


def test_pymemcache_expiry(pmc, server):
    pmc.set("exp-short", b"a", expire=1, noreply=False)
    pmc.set("exp-long", b"b", expire=100, noreply=False)
    pmc.set("exp-never", b"c", expire=0, noreply=False)
    pmc.set("exp-touched", b"d", expire=0, noreply=False)
    assert pmc.touch("exp-touched", 1, noreply=False) is True
    keys = ["exp-short", "exp-long", "exp-never", "exp-touched"]
    assert len(pmc.get_many(keys)) == 4
    debugtime(server, 2)  # skips here on release memcached
    assert pmc.get_many(keys) == {"exp-long": b"b", "exp-never": b"c"}
    assert pmc.touch("exp-short", 100, noreply=False) is False
    debugtime(server, 100)
    assert pmc.get_many(keys) == {"exp-never": b"c"}


def test_pymemcache_flush_all(pmc):
    pmc.set_many({"f1": b"1", "f2": b"2"}, noreply=False)
    assert pmc.flush_all(noreply=False) is True
    assert pmc.get_many(["f1", "f2"]) == {}
    # the cache is usable right after a flush
    pmc.set("f3", b"3", noreply=False)
    assert pmc.get("f3") == b"3"


def test_pymemcache_default_noreply(pmc, server):
    """Client() defaults to noreply for storage commands: the server must stay silent,
    or the replies would be read as answers to later commands."""
    assert pmc.default_noreply is True
    assert pmc.set("nr", b"one") is True
    # a failing add with noreply still returns True client-side; nothing may come back
    assert pmc.add("nr", b"two") is True
    assert pmc.replace("nr-missing", b"x") is True
    assert pmc.append("nr-missing", b"x") is True
    assert pmc.delete("nr-missing") is True
    assert pmc.touch("nr-missing", 10) is True
    assert pmc.set_many({"nr1": b"1", "nr2": b"2"}) == []
    assert pmc.incr("nr1", 5, noreply=True) is None
    assert pmc.flush_all() is True
    pmc.set("nr", b"three")
    # if any of the above had produced a reply, this get would read it and fail
    assert pmc.get("nr") == b"three"
    assert pmc.get_many(["nr1", "nr2"]) == {}
    assert pmc.version().startswith(b"1.")


@pytest.mark.parametrize("value", [
    b"\x00",
    b"\r\n",
    b"a\r\nEND\r\n",
    b"\x00\r\n\x00\r\nVALUE x 0 1\r\n",
    bytes(range(256)),
    b"",
])
def test_pymemcache_binary_safe_values(pmc, server, value):
    assert pmc.set("bin", value, noreply=False) is True
    assert pmc.get("bin") == value
    assert raw_get(server, b"bin") == (0, value)
    pmc.append("bin", b"\r\n\x00", noreply=False)
    assert pmc.get("bin") == value + b"\r\n\x00"


def test_pymemcache_large_value(pmc, server):
    value = os.urandom(500 * 1024)
    assert pmc.set("large", value, noreply=False) is True
    assert pmc.get("large") == value
    assert pmc.get_many(["large", "nothing"]) == {"large": value}
    assert raw_get(server, b"large") == (0, value)


def test_pymemcache_oversize_value_rejected(pmc, server):
    pmc.set("big", b"old", noreply=False)
    with pytest.raises(MemcacheServerError) as err:
        pmc.set("big", b"x" * (1024 * 1024 + 512 * 1024), noreply=False)
    assert b"too large" in err.value.args[0]
    # a failed set does not leave the old value behind
    assert pmc.get("big") is None
    # the server swallowed the data block: the connection is still in sync
    pmc.set("after", b"ok", noreply=False)
    assert pmc.get("after") == b"ok"


def test_pymemcache_stats_and_version(pmc, server):
    before = pmc.stats()
    pmc.set_many({"stats-new-1": b"1", "stats-new-2": b"2", "stats-new-3": b"3"},
                 noreply=False)
    stats = pmc.stats()
    # curr_items may still count items flushed by earlier tests until they are reclaimed
    # in the background, so only total_items gives an exact delta
    assert stats[b"total_items"] == before[b"total_items"] + 3
    assert stats[b"curr_items"] >= 3
    assert stats[b"pid"] == server.proc.pid
    assert stats[b"cmd_set"] >= 3
    assert pmc.version() == raw_stats(server)["version"].encode()


def test_pymemcache_unix_socket(userver):
    server = userver
    # pymemcache takes a bare path or (since 3.x) "unix:/path"
    for spec in (server.socket_path, "unix:" + server.socket_path):
        c = PymemcacheClient(spec, connect_timeout=5, timeout=5)
        try:
            assert c.set("u", spec.encode(), noreply=False) is True
            assert c.get("u") == spec.encode()
        finally:
            c.close()
    c = PymemcacheClient("unix:" + server.socket_path, default_noreply=False)
    try:
        c.set("n", b"41")
        assert c.incr("n", 1) == 42
        assert c.get_many(["u", "n"]) == {"u": b"unix:" + server.socket_path.encode(),
                                          "n": b"42"}
        assert c.delete("n") is True
        assert c.stats()[b"pid"] == server.proc.pid
    finally:
        c.close()
    assert raw_get(server, b"u") == (0, b"unix:" + server.socket_path.encode())


# --------------------------------------------------------------------------- HashClient

def test_pymemcache_hashclient_spreads_over_three_servers(module_server_factory):
    servers = [module_server_factory() for _ in range(3)]  # fresh: exact item counts
    hc = HashClient([s.address for s in servers], connect_timeout=5, timeout=5,
                    default_noreply=False)
    values = {f"hash-key-{i}": f"value-{i}".encode() for i in range(90)}
    assert hc.set_many(values) == []
    counts = [curr_items(s) for s in servers]
    assert all(n > 0 for n in counts), counts
    assert sum(counts) == len(values)
    assert hc.get_many(list(values)) == values
    for key, value in values.items():
        assert hc.get(key) == value
    # each key lives on exactly one server, reachable with a raw get there
    for key, value in list(values.items())[:15]:
        hits = [raw_get(s, key.encode()) for s in servers]
        assert [h for h in hits if h is not None] == [(0, value)]
    assert hc.delete_many(list(values)[:30]) is True
    assert sum(curr_items(s) for s in servers) == len(values) - 30
    hc.flush_all()
    assert hc.get_many(list(values)) == {}
    assert all(raw_get(s, b"hash-key-77") is None for s in servers)
    hc.close()


# --------------------------------------------------------------------------- pylibmc

# pylibmc (libmemcached) in both of its protocols: one workflow, the differences spelled where
# libmemcached reports a binary status differently from a text reply.
PROTOCOLS = pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])


def make_pylibmc(spec, binary):
    c = pylibmc.Client([spec], binary=binary, behaviors={"cas": True})
    assert c.binary is binary
    return c


def pylibmc_workflow(c, binary):
    assert c.set("k", "v") is True
    assert c.get("k") == "v"
    assert c.get("nope") is None
    assert c.set("bytes", b"\x00\r\n\xff") is True
    assert c.get("bytes") == b"\x00\r\n\xff"
    assert c.set("num", 41) is True
    assert c.get("num") == 41
    assert c.incr("num") == 42
    assert c.incr("num", 8) == 50
    assert c.decr("num", 20) == 30
    assert c.decr("num", 1000) == 0
    assert c.get("num") == 0
    with pytest.raises(pylibmc.NotFound):
        c.incr("no-counter")
    with pytest.raises(pylibmc.NotFound):
        c.decr("no-counter")
    # binary: libmemcached sends exptime 0xffffffff, so the miss creates nothing
    assert c.get("no-counter") is None
    c.set("text", "abc")
    with pytest.raises(pylibmc.Error):  # non-numeric (binary status 0x06)
        c.incr("text")
    assert c.get("text") == "abc"

    assert c.set_multi({"m1": "one", "m2": "two", "m3": b"three"}) == []
    assert c.get_multi(["m1", "m2", "m3", "m4"]) == {"m1": "one", "m2": "two", "m3": b"three"}
    assert c.get_multi([]) == {}

    assert c.add("k", "other") is False
    assert c.get("k") == "v"
    assert c.add("fresh", "a") is True
    assert c.replace("fresh", "b") is True
    assert c.get("fresh") == "b"
    if binary:  # a REPLACE miss (status 0x01) surfaces as NotFound
        with pytest.raises(pylibmc.NotFound):
            c.replace("ghost", "x")
    else:
        assert c.replace("ghost", "x") is False
    assert c.get("ghost") is None

    assert c.append("fresh", "c") is True
    assert c.prepend("fresh", "z") is True
    assert c.get("fresh") == "zbc"
    assert c.append("ghost", "x") is False  # binary status 0x05 Not stored.
    assert c.prepend("ghost", "x") is False

    value, cas = c.gets("fresh")
    assert value == "zbc" and cas
    assert c.cas("fresh", "cas-1", cas) is True
    assert c.get("fresh") == "cas-1"
    assert c.cas("fresh", "cas-2", cas) is False  # binary status 0x02
    assert c.get("fresh") == "cas-1"
    with pytest.raises(pylibmc.NotFound):
        c.cas("ghost", "x", cas)
    assert c.gets("ghost") == (None, None)

    assert c.touch("fresh", 100) is True
    assert c.touch("ghost", 100) is False
    assert c.get("fresh") == "cas-1"

    assert c.delete("fresh") is True
    assert c.delete("fresh") is False
    assert c.get("fresh") is None
    assert c.delete_multi(["m1", "m2"]) is True
    assert c.get_multi(["m1", "m2", "m3"]) == {"m3": b"three"}
    assert c.delete_multi(["m1", "m3"]) is False  # m1 was already gone
    assert c.get_multi(["m1", "m2", "m3"]) == {}

    assert c.add_multi({"a1": 1, "num": 2}) == ["num"]
    assert c.incr_multi(["a1", "num"], delta=5) is None
    assert c.get_multi(["a1", "num"]) == {"a1": 6, "num": 5}
    c.set("wrap", str(MAX_U64))
    assert c.incr("wrap", 1) == 0


@PROTOCOLS
def test_pylibmc_workflow(server, binary):
    c = make_pylibmc(f"{server.host}:{server.port}", binary)
    pylibmc_workflow(c, binary)
    stats = c.get_stats()
    assert len(stats) == 1
    name, values = stats[0]
    assert name == f"{server.host}:{server.port} (0)".encode()
    assert int(values["pid"]) == server.proc.pid
    assert int(values["curr_items"]) >= 6  # k, bytes, num, text, a1, wrap are live
    assert int(values["total_items"]) == int(raw_stats(server)["total_items"])
    assert raw_get(server, b"k") == (16, b"v")  # pylibmc flags text as 16
    assert raw_get(server, b"a1") == (4, b"6")  # ints as 4, stored as decimal text
    c.flush_all()
    assert c.get_multi(["k", "bytes", "num", "text", "a1", "wrap"]) == {}
    assert raw_get(server, b"k") is None
    c.disconnect_all()


@PROTOCOLS
def test_pylibmc_large_values(server, binary):
    c = make_pylibmc(f"{server.host}:{server.port}", binary)
    value = os.urandom(500 * 1024)
    assert c.set("large", value) is True
    assert c.get("large") == value
    assert c.get_multi(["large", "x"]) == {"large": value}
    c.set("big", "old")
    with pytest.raises(pylibmc.TooBig):  # binary status 0x03 "Too large."
        c.set("big", os.urandom(1024 * 1024 + 1))
    assert c.get("big") is None  # a too-large SET drops the old value
    assert c.get("large") == value  # and the connection is still in sync
    c.disconnect_all()


@PROTOCOLS
def test_pylibmc_unix_socket(userver, binary):
    c = make_pylibmc(userver.socket_path, binary)
    pylibmc_workflow(c, binary)
    assert raw_get(userver, b"k") == (16, b"v")
    c.flush_all()
    assert raw_get(userver, b"k") is None
    c.disconnect_all()


# --------------------------------------------------------------------------- python-memcached

def memcache_workflow(mc, server):
    assert mc.set("k", "v") is True
    assert mc.get("k") == "v"
    assert mc.get("nope") is None
    assert mc.set("obj", {"a": [1, 2]}) is True
    assert mc.get("obj") == {"a": [1, 2]}
    assert mc.set("bin", b"\x00\r\n") is True
    assert mc.get("bin") == b"\x00\r\n"

    assert mc.set_multi({"m1": "1", "m2": "2", "m3": "3"}) == []
    assert mc.get_multi(["m1", "m2", "m3", "m4"]) == {"m1": "1", "m2": "2", "m3": "3"}
    assert mc.set_multi({"a": "x", "b": "y"}, key_prefix="pfx:") == []
    assert mc.get_multi(["a", "b"], key_prefix="pfx:") == {"a": "x", "b": "y"}
    assert mc.get("pfx:a") == "x"

    assert mc.delete("m1") == 1
    assert mc.get("m1") is None
    assert mc.delete_multi(["m2", "m3"]) == 1
    assert mc.get_multi(["m2", "m3"]) == {}

    assert mc.set("n", "10") is True
    assert mc.incr("n") == 11
    assert mc.incr("n", 9) == 20
    assert mc.decr("n", 5) == 15
    assert mc.decr("n", 100) == 0
    assert mc.incr("missing-counter") is None
    assert mc.decr("missing-counter") is None

    assert mc.add("k", "other") == 0
    assert mc.get("k") == "v"
    assert mc.add("added", "a") is True
    assert mc.replace("added", "b") is True
    assert mc.get("added") == "b"
    assert mc.replace("ghost", "x") == 0
    assert mc.get("ghost") is None

    assert mc.append("added", "c") is True
    assert mc.prepend("added", "z") is True
    assert mc.get("added") == "zbc"

    assert mc.touch("added", 100) == 1
    assert mc.touch("ghost", 100) == 0

    # cas with cache_cas=True: gets() remembers the unique, cas() uses it
    assert mc.gets("added") == "zbc"
    assert mc.cas("added", "cas-1") is True
    assert mc.get("added") == "cas-1"
    mc.gets("added")
    other = memcache.Client([server.location])
    assert other.set("added", "changed-elsewhere") is True
    assert mc.cas("added", "cas-2") == 0
    assert mc.get("added") == "changed-elsewhere"
    other.disconnect_all()

    stats = mc.get_stats()
    assert len(stats) == 1
    assert int(stats[0][1]["pid"]) == server.proc.pid

    mc.flush_all()
    assert mc.get_multi(["k", "obj", "added", "n"]) == {}
    assert raw_get(server, b"k") is None


def test_python_memcached(server):
    mc = memcache.Client([server.location], cache_cas=True)
    memcache_workflow(mc, server)
    mc.disconnect_all()


def test_python_memcached_unix_socket(userver):
    server = userver
    mc = memcache.Client([server.location], cache_cas=True)
    memcache_workflow(mc, server)
    mc.disconnect_all()


def test_python_memcached_large_value(server):
    mc = memcache.Client([server.location])
    value = os.urandom(500 * 1024)
    assert mc.set("large", value) is True
    assert mc.get("large") == value
    # python-memcached refuses > 1 MiB client-side; nothing reaches the server
    assert mc.set("huge", b"x" * (1024 * 1024 + 1)) == 0
    assert mc.get("huge") is None
    mc.disconnect_all()


# --------------------------------------------------------------------------- wire forms

def test_wire_forms_sent_by_clients(server):
    """Exact lines the clients above put on the wire (captured from them), replayed raw."""
    c = Conn(server)
    try:
        # python-memcached: a trailing space before CRLF on storage/cas/delete_multi
        assert c.call(b"set wk 16 0 1 \r\nv\r\n") == b"STORED\r\n"
        c.send(b"gets wk\r\n")
        line = c.read_line()
        assert line.startswith(b"VALUE wk 16 1 ")
        cas = line.split()[4]
        c.read_until(b"END\r\n")
        assert c.call(b"cas wk 16 0 1 " + cas + b" \r\nw\r\n") == b"STORED\r\n"
        assert c.call(b"delete wk \r\n") == b"DELETED\r\n"
        assert c.call(b"delete wk \r\n") == b"NOT_FOUND\r\n"
        # Django's MemcachedCache.delete: "delete <key> 0"
        assert c.call(b"set wk 0 0 1\r\nv\r\n") == b"STORED\r\n"
        assert c.call(b"delete wk 0\r\n") == b"DELETED\r\n"
        # pylibmc / libmemcached: "flush_all " and "stats " with a trailing space
        assert c.call(b"set wk 0 0 1\r\nv\r\n") == b"STORED\r\n"
        assert c.call(b"flush_all \r\n") == b"OK\r\n"
        assert c.call(b"get wk\r\n") == b"END\r\n"
        reply = c.call(b"stats \r\n", b"END\r\n")
        assert reply.startswith(b"STAT pid ")
        # pymemcache: "flush_all 0"
        assert c.call(b"flush_all 0\r\n") == b"OK\r\n"
        # Django timeout=0: pymemcache/python-memcached send exptime -1,
        # pylibmc sends it as unsigned 4294967295; both mean "already expired"
        for exptime in (b"-1", b"4294967295"):
            assert c.call(b"set wz 0 0 1\r\nv\r\n") == b"STORED\r\n"
            assert c.call(b"set wz 4 " + exptime + b" 1\r\n1\r\n") == b"STORED\r\n"
            assert c.call(b"get wz\r\n") == b"END\r\n"
        # Django touch(timeout=0) via pymemcache/python-memcached: "touch <key> -1"
        assert c.call(b"set wt 0 0 1\r\nv\r\n") == b"STORED\r\n"
        assert c.call(b"touch wt -1\r\n") == b"TOUCHED\r\n"
        assert c.call(b"get wt\r\n") == b"END\r\n"
        # libmemcached tools say goodbye with "quit"
        c.send(b"quit\r\n")
        assert c.is_closed()
    finally:
        c.close()
