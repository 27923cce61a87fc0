"""Listing keys: `stats cachedump`, `lru_crawler metadump`, and memcdump on top of cachedump
(docs/design/memcached-operator-behaviour.md §8-§9).

memcached's cachedump walks only the COLD LRU and caps each reply at 2 MiB, and its crawler can
skip an item that is being moved between LRUs; tests that must pass on memcached too therefore
poll (with a deadline) until an item is listed. The stricter "every key, right away" checks are
marked memcached_only_difference.
"""
from urllib.parse import unquote_to_bytes
import random
import socket

import pytest

from conftest import Conn, memcached_only_difference
from operator_helpers import (METADUMP_LINE, cachedump, call, item_meta,
                              mass_set, memcdump_keys, metadump, run_tool, stats_dict,
                              wait_for)

BIG = 100_000


@pytest.fixture(scope="module")
def listing(module_server_factory):
    """A server for the small listing tests (each test uses its own key prefix)."""
    return module_server_factory()


@pytest.fixture(scope="module")
def big(module_server_factory):
    """100,000 one-byte items with short keys, all in one size class."""
    server = module_server_factory()
    mass_set(server, [b"big:%d" % i for i in range(BIG)], b"x")
    return server


def server_time(server):
    return int(stats_dict(server)["time"])


def listed_in_cachedump(server, cls, keys):
    found = {k for k, _, _ in cachedump(server, cls)}
    return set(keys) <= found


# --------------------------------------------------------------------------- cachedump

def test_cachedump_line_format(listing):
    c = Conn(listing)
    assert c.call(b"set cd:plain 0 0 5\r\nhello\r\n") == b"STORED\r\n"
    assert c.call(b"set cd:ttl 7 1000 3\r\nabc\r\n") == b"STORED\r\n"
    assert c.call(b"set cd:gone 0 -1 3\r\nabc\r\n") == b"STORED\r\n"  # stored already expired
    c.close()
    now = server_time(listing)
    cls_plain = item_meta(listing, b"cd:plain")["cls"]
    cls_ttl = item_meta(listing, b"cd:ttl")["cls"]
    wait_for(lambda: listed_in_cachedump(listing, cls_plain, [b"cd:plain"])
             and listed_in_cachedump(listing, cls_ttl, [b"cd:ttl"]), what="items in cachedump")
    reply = call(listing, b"stats cachedump %d 0\r\n" % cls_plain, b"END\r\n")
    assert b"ITEM cd:plain [5 b; 0 s]\r\n" in reply
    assert reply.endswith(b"\r\nEND\r\n")
    entries = {k: (n, exp) for k, n, exp in cachedump(listing, cls_ttl)}
    nbytes, exptime = entries[b"cd:ttl"]
    assert nbytes == 3
    assert now + 1000 - 5 <= exptime <= now + 1000 + 5  # absolute unix time
    for cls in range(64):
        assert b"cd:gone" not in {k for k, _, _ in cachedump(listing, cls)}


def test_cachedump_limit(listing):
    keys = [b"lim:%d" % i for i in range(5)]
    mass_set(listing, keys, b"v")
    cls = item_meta(listing, keys[0])["cls"]
    wait_for(lambda: listed_in_cachedump(listing, cls, keys), what="items in cachedump")
    assert len(cachedump(listing, cls, 1)) == 1
    assert len(cachedump(listing, cls, 3)) == 3
    assert len(cachedump(listing, cls, 0)) >= 5  # 0 = no limit


@pytest.mark.parametrize("request_line,reply", [
    (b"stats cachedump", b"CLIENT_ERROR bad command line\r\n"),
    (b"stats cachedump 1", b"CLIENT_ERROR bad command line\r\n"),
    (b"stats cachedump x 0", b"CLIENT_ERROR bad command line format\r\n"),
    (b"stats cachedump 1 x", b"CLIENT_ERROR bad command line format\r\n"),
    (b"stats cachedump -1 0", b"CLIENT_ERROR bad command line format\r\n"),
    (b"stats cachedump 1 -1", b"CLIENT_ERROR bad command line format\r\n"),
    (b"stats cachedump 1.5 1", b"CLIENT_ERROR bad command line format\r\n"),
    (b"stats cachedump 64 0", b"CLIENT_ERROR Illegal slab id\r\n"),
    (b"stats cachedump 200 0", b"CLIENT_ERROR Illegal slab id\r\n"),
    (b"stats cachedump 0 0", b"END\r\n"),
    (b"stats cachedump 63 0", b"END\r\n"),
])
def test_cachedump_errors_and_empty_classes(fresh_conn, request_line, reply):
    assert fresh_conn.call(request_line + b"\r\n") == reply
    assert fresh_conn.call(b"version\r\n") == b"VERSION 1.6.18\r\n"


@pytest.fixture(scope="module")
def empty_server(module_server_factory):
    return module_server_factory()


@pytest.fixture
def fresh_conn(empty_server):
    c = Conn(empty_server)
    yield c
    c.close()


def test_cachedump_extra_token_ignored(listing):
    mass_set(listing, [b"extra:1"], b"v")
    cls = item_meta(listing, b"extra:1")["cls"]
    wait_for(lambda: listed_in_cachedump(listing, cls, [b"extra:1"]), what="item in cachedump")
    assert call(listing, b"stats cachedump %d 0 extra\r\n" % cls, b"END\r\n") == \
        call(listing, b"stats cachedump %d 0\r\n" % cls, b"END\r\n")


def test_cachedump_classes_partition_the_keys(listing):
    """Walking classes 0..63 (what memcdump does) finds each key exactly once, in the class
    metadump reports for it."""
    sizes = [1, 30, 200, 900, 4000, 30000, 200000]
    keys = [b"part:%d" % i for i in range(70)]
    mass_set(listing, keys, lambda k: b"p" * sizes[int(k[5:]) % len(sizes)])

    def walk():
        seen = {}
        for cls in range(64):
            for k, _, _ in cachedump(listing, cls):
                if k.startswith(b"part:"):
                    assert k not in seen, (k, seen.get(k), cls)
                    seen[k] = cls
        return seen if len(seen) == len(keys) else None

    seen = wait_for(walk, what="every key in some cachedump class")
    meta = wait_for(lambda: (lambda d: d if all(k in d for k in keys) else None)(metadump(listing)),
                    what="every key in metadump")
    assert {k: meta[k]["cls"] for k in keys} == seen
    assert len(set(seen.values())) >= 3


def test_dumps_refused_with_X(module_server_factory):
    server = module_server_factory("-X")
    c = Conn(server)
    assert c.call(b"set a 0 0 1\r\nx\r\n") == b"STORED\r\n"
    for line in (b"stats cachedump 1 0", b"stats cachedump 1", b"stats cachedump"):
        assert c.call(line + b"\r\n") == b"CLIENT_ERROR stats cachedump not allowed\r\n"
    for line in (b"lru_crawler metadump all", b"lru_crawler metadump 1",
                 b"lru_crawler metadump hash"):
        assert c.call(line + b"\r\n") == b"ERROR metadump not allowed\r\n"
    c.close()
    proc = run_tool("memcdump", server)
    assert proc.returncode == 1
    assert b"stats cachedump not allowed" in proc.stderr
    assert proc.stdout == b""


# --------------------------------------------------------------------------- memcdump

def _mixed_population(prefix, n, seed):
    rnd = random.Random(seed)
    sizes = [1, 10, 100, 1000, 5000, 20000]
    return {prefix + b"%d" % i: b"m" * rnd.choice(sizes) for i in range(n)}


def test_memcdump_lists_every_key(module_server_factory):
    """Both servers: every key shows up (memcached needs its items out of the HOT LRU first)."""
    server = module_server_factory()
    pop = _mixed_population(b"md:", 1000, 1)
    mass_set(server, list(pop), lambda k: pop[k])

    def complete():
        keys = memcdump_keys(server)
        assert len(keys) == len(set(keys)), "duplicate keys"
        assert set(keys) <= set(pop)
        return len(keys) == len(pop)

    wait_for(complete, what="memcdump to list all 1000 keys")


@memcached_only_difference("memcached lists only items outside the HOT LRU")
def test_memcdump_lists_every_key_immediately(module_server_factory):
    server = module_server_factory()
    for round_ in range(3):
        pop = _mixed_population(b"now%d:" % round_, 1000, round_)
        mass_set(server, list(pop), lambda k: pop[k])
        keys = memcdump_keys(server)
        assert len(keys) == len(set(keys))
        assert {k for k in keys if k.startswith(b"now%d:" % round_)} == set(pop)


def test_memcdump_large_population_partial(big):
    """Both servers: memcdump over 100k keys finishes, lists no duplicates and nothing else."""
    keys = memcdump_keys(big, timeout=20)
    assert len(keys) == len(set(keys))
    assert all(k.startswith(b"big:") for k in keys)
    assert len(keys) >= 70_000  # memcached: ~77,600 (2 MiB cap per cachedump reply)


@memcached_only_difference("memcached caps each cachedump reply at 2 MiB (~77,600 short keys)")
def test_memcdump_large_population_complete(big):
    keys = memcdump_keys(big, timeout=20)
    assert set(keys) == {b"big:%d" % i for i in range(BIG)}
    assert len(keys) == BIG


# --------------------------------------------------------------------------- metadump

def test_metadump_line_format(listing):
    c = Conn(listing)
    assert c.call(b"set meta:a 0 0 1\r\nx\r\n") == b"STORED\r\n"
    assert c.call(b"set meta:b 5 100 3\r\nabc\r\n") == b"STORED\r\n"
    reply = c.call(b"gets meta:a meta:b\r\n", b"END\r\n")
    cas = {line.split()[1]: int(line.split()[4]) for line in reply.split(b"\r\n")
           if line.startswith(b"VALUE ")}
    c.close()
    now = server_time(listing)
    a = wait_for(lambda: (lambda m: m if m["fetch"] == "yes" else None)(item_meta(listing, b"meta:a")),
                 what="fetch=yes")
    b = item_meta(listing, b"meta:b")
    assert a["exp"] == -1
    assert now + 100 - 5 <= b["exp"] <= now + 100 + 5
    assert now - 5 <= a["la"] <= now + 5 and now - 5 <= b["la"] <= now + 5
    assert (a["cas"], b["cas"]) == (cas[b"meta:a"], cas[b"meta:b"])
    assert a["size"] > 0 and b["size"] > a["size"]
    mass_set(listing, [b"meta:unread"], b"u")
    assert item_meta(listing, b"meta:unread")["fetch"] == "no"


def test_metadump_framing(listing):
    mass_set(listing, [b"frame:%d" % i for i in range(20)], b"f")
    c = Conn(listing)
    c.send(b"lru_crawler metadump all\r\n")
    raw = c.read_until(b"END\r\n")
    assert raw.endswith(b"\nEND\r\n")
    body = raw[:-len(b"END\r\n")]
    assert b"\r" not in body  # item lines end in a bare \n
    for line in body[:-1].split(b"\n"):
        assert METADUMP_LINE.match(line), line
    # the connection is usable again afterwards (memcached-tool `dump` relies on it)
    assert c.call(b"version\r\n") == b"VERSION 1.6.18\r\n"
    c.close()


URLENCODED = [
    (b"pct%25", b"pct%2525"),
    (b"sl/ash", b"sl%2Fash"),
    (b"caf\xc3\xa9", b"caf%C3%A9"),
    (b"t~i_l-d.e!*'()", b"t~i_l-d.e%21%2A%27%28%29"),
    (b"a+b=c&d", b"a%2Bb%3Dc%26d"),
    (b"quote\"x", b"quote%22x"),
    (b"hash#x", b"hash%23x"),
    (b"col:on", b"col%3Aon"),
    (b"<>", b"%3C%3E"),
    (b"\xff\x80", b"%FF%80"),
    (b"AZaz09", b"AZaz09"),
]


def test_metadump_urlencodes_keys(listing):
    mass_set(listing, [k for k, _ in URLENCODED], b"u")
    for key, encoded in URLENCODED:
        assert item_meta(listing, key)["line"].startswith(b"key=" + encoded + b" exp="), key


def test_metadump_class_selection(listing):
    mass_set(listing, [b"sel:small"], b"s")
    mass_set(listing, [b"sel:large"], b"L" * 5000)
    small = item_meta(listing, b"sel:small")["cls"]
    large = item_meta(listing, b"sel:large")["cls"]
    assert small != large

    def only(arg, want, classes):
        d = metadump(listing, arg)
        assert all(v["cls"] in classes for v in d.values()), (arg, classes)
        return all(k in d for k in want)

    wait_for(lambda: only(b"%d" % small, [b"sel:small"], {small}), what="class list")
    wait_for(lambda: only(b"%d,%d" % (small, large), [b"sel:small", b"sel:large"],
                          {small, large}), what="two classes")
    wait_for(lambda: set(metadump(listing, b"hash")) >= {b"sel:small", b"sel:large"},
             what="hash walk")


@pytest.mark.parametrize("request_line,reply", [
    (b"lru_crawler metadump", b"ERROR\r\n"),
    (b"lru_crawler metadump all extra", b"ERROR\r\n"),
    (b"lru_crawler metadump 0", b"BADCLASS invalid class id\r\n"),
    (b"lru_crawler metadump 64", b"BADCLASS invalid class id\r\n"),
    (b"lru_crawler metadump x", b"BADCLASS invalid class id\r\n"),
    (b"lru_crawler metadump 63", b"END\r\n"),
])
def test_metadump_arguments(fresh_conn, request_line, reply):
    assert fresh_conn.call(request_line + b"\r\n") == reply
    assert fresh_conn.call(b"version\r\n") == b"VERSION 1.6.18\r\n"


@pytest.mark.parametrize("before", [b"version\r\n", b"mg nokey v\r\n",
                                    b"set pl 0 0 1 noreply\r\nx\r\n"])
def test_metadump_must_come_first(listing, before):
    c = Conn(listing)
    expected = {b"version\r\n": b"VERSION 1.6.18\r\n", b"mg nokey v\r\n": b"EN\r\n"}.get(before, b"")
    err = b"ERROR cannot pipeline other commands before metadump\r\n"
    assert c.call(before + b"lru_crawler metadump all\r\n", err) == expected + err
    assert c.call(b"version\r\n") == b"VERSION 1.6.18\r\n"
    c.close()


def test_metadump_lists_a_large_population(big):
    want = {b"big:%d" % i for i in range(BIG)}
    wait_for(lambda: set(metadump(big)) >= want, what="all 100k keys in metadump")


def _slow_reader(server):
    """A client that asks for a metadump and does not read it yet (tiny receive buffer)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(10)
    s.connect(server.address)
    s.sendall(b"lru_crawler metadump all\r\n")
    return s


def _finish_reading(sock):
    data = b""
    while not data.endswith(b"END\r\n"):
        chunk = sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("closed before END")
        data += chunk
    sock.close()
    return data[:-len(b"END\r\n")].split(b"\n")[:-1]


def _other_client_still_served(server):
    c = Conn(server, timeout=5)  # a stalled server shows up as a timeout here
    assert c.call(b"set during 0 0 3\r\nyes\r\n") == b"STORED\r\n"
    assert c.call(b"get during big:5\r\n", b"END\r\n") == \
        b"VALUE during 0 3\r\nyes\r\nVALUE big:5 0 1\r\nx\r\nEND\r\n"
    assert c.call(b"stats\r\n", b"END\r\n").startswith(b"STAT pid ")
    assert c.call(b"stats cachedump 1 1\r\n", b"END\r\n").endswith(b"END\r\n")
    c.close()


def test_slow_metadump_reader_does_not_stall_others(big):
    reader = _slow_reader(big)
    _other_client_still_served(big)
    lines = _finish_reading(reader)
    assert lines and all(METADUMP_LINE.match(line) for line in lines)
    assert len(lines) == len(set(lines))


@memcached_only_difference("memcached's crawler drops lines for a reader that does not keep up")
def test_slow_metadump_reader_still_gets_every_key(big):
    reader = _slow_reader(big)
    _other_client_still_served(big)
    keys = {unquote_to_bytes(METADUMP_LINE.match(line).group(1))
            for line in _finish_reading(reader)}
    assert keys >= {b"big:%d" % i for i in range(BIG)}
