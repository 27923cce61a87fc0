"""cachet's flush_prefix: every item whose key starts with the prefix and that was written before
the command is gone for every command and protocol; items written after it survive. A cachet
extension: skipped against memcached, which answers ERROR."""
import threading

import pytest

from binary_helpers import GET, KEY_ENOENT, BinConn
from conftest import IS_MEMCACHED, Conn, debugtime
from test_meta_protocol import meta
from operator_helpers import WatchReader, conn_fd_by_port, fields, local_port, stats_dict, wait_for

pytestmark = pytest.mark.skipif(IS_MEMCACHED, reason="cachet extension")

TOO_MANY = b"SERVER_ERROR too many prefix rules\r\n"
BAD_FORMAT = b"CLIENT_ERROR bad command line format\r\n"


def store(c, key, value=b"v", exptime=0):
    return c.call(b"set %s 0 %d %d\r\n%s\r\n" % (key, exptime, len(value), value))


def get(c, key):
    return c.call(b"get " + key + b"\r\n", b"END\r\n")


def value_of(key, value=b"v"):
    return b"VALUE %s 0 %d\r\n%s\r\nEND\r\n" % (key, len(value), value)


def test_flush_prefix_hides_older_items_from_every_command(server_factory):
    server = server_factory()
    c = Conn(server)
    for i in range(8):
        assert store(c, b"user:%d" % i) == b"STORED\r\n"
    assert store(c, b"users") == b"STORED\r\n"     # not under "user:"
    assert store(c, b"other:1") == b"STORED\r\n"
    assert c.call(b"flush_prefix user:\r\n") == b"OK\r\n"
    assert get(c, b"user:0") == b"END\r\n"
    assert c.call(b"add user:1 0 0 1\r\na\r\n") == b"STORED\r\n"      # add succeeds
    assert c.call(b"cas user:2 0 0 1 1\r\nc\r\n") == b"NOT_FOUND\r\n"
    assert c.call(b"incr user:3 1\r\n") == b"NOT_FOUND\r\n"
    assert c.call(b"touch user:4 10\r\n") == b"NOT_FOUND\r\n"
    assert meta(c, b"mg user:5 N30 v") == b"VA 0 W\r\n\r\n"  # vivified, won
    assert c.call(b"mg user:6 v\r\n") == b"EN\r\n"
    b = BinConn(server)
    r = b.get(b"user:7")
    assert (r.opcode, r.status) == (GET, KEY_ENOENT)
    b.close()
    # Written after the OK: kept.
    assert get(c, b"user:1") == value_of(b"user:1", b"a")
    assert store(c, b"user:0", b"new") == b"STORED\r\n"
    assert get(c, b"user:0") == value_of(b"user:0", b"new")
    assert get(c, b"users") == value_of(b"users")
    assert get(c, b"other:1") == value_of(b"other:1")
    # Listings skip what the rule covers (the sweep may also have dropped it by now).
    dump = c.call(b"lru_crawler metadump all\r\n", b"END\r\n")
    listed = sorted(line.split(b" ")[0] for line in dump.split(b"\n") if line.startswith(b"key="))
    assert listed == [b"key=other%3A1", b"key=user%3A0", b"key=user%3A1", b"key=user%3A5",
                      b"key=users"]
    c.close()


def test_flush_prefix_sweep_frees_the_items_and_retires_the_rule(server_factory):
    c = Conn(server_factory())
    c.send(b"".join(b"set doc:%d 0 0 1 noreply\r\nv\r\n" % i for i in range(2000))
           + b"".join(b"set keep:%d 0 0 1 noreply\r\nv\r\n" % i for i in range(500)) + b"mn\r\n")
    assert c.read_until(b"MN\r\n") == b"MN\r\n"
    assert int(stats_dict(c)["curr_items"]) == 2500
    assert c.call(b"flush_prefix doc:\r\n") == b"OK\r\n"
    # The crawler sweeps in the background; the counts settle once it is through.
    wait_for(lambda: stats_dict(c)["flush_prefix_rules_active"] == "0", what="the rule retired")
    s = stats_dict(c)
    assert (s["curr_items"], s["flush_prefix_items"], s["cmd_flush_prefix"]) == ("500", "2000", "1")
    assert get(c, b"keep:499") == value_of(b"keep:499")
    c.close()


def test_flush_prefix_stats_appear_once_used(server_factory):
    c = Conn(server_factory())
    assert "cmd_flush_prefix" not in stats_dict(c)  # memcached's key lists until then
    assert "flush_prefix_max_rules" not in stats_dict(c, b"settings")
    assert c.call(b"flush_prefix x\r\n") == b"OK\r\n"
    s = stats_dict(c)
    assert (s["cmd_flush_prefix"], s["flush_prefix_max_rules"]) == ("1", "64")
    assert list(s)[-4:] == ["cmd_flush_prefix", "flush_prefix_items", "flush_prefix_rules_active",
                            "flush_prefix_max_rules"]
    assert list(stats_dict(c, b"settings"))[-2:] == ["memory_file", "flush_prefix_max_rules"]
    c.close()


@pytest.mark.parametrize("line", [b"flush_prefix\r\n", b"flush_prefix a b\r\n",
                                  b"flush_prefix " + b"k" * 251 + b"\r\n",
                                  b"flush_prefix a\x01\r\n"])
def test_flush_prefix_bad_lines(server_factory, line):
    c = Conn(server_factory())
    assert c.call(line) == BAD_FORMAT
    assert c.call(b"flush_prefix a noreply\r\nmn\r\n", b"MN\r\n") == b"MN\r\n"
    c.close()


def test_flush_prefix_refused_with_disable_flush_all(server_factory):
    c = Conn(server_factory("-F"))
    assert store(c, b"a:1") == b"STORED\r\n"
    assert c.call(b"flush_prefix a:\r\n") == b"CLIENT_ERROR flush_prefix not allowed\r\n"
    assert get(c, b"a:1") == value_of(b"a:1")
    c.close()


def test_flush_prefix_rule_table_is_bounded(server_factory):
    c = Conn(server_factory("-o", "flush_prefix_max_rules=2"))
    # With the crawler off nothing sweeps, so the rules stay active.
    assert c.call(b"lru_crawler disable\r\n") == b"OK\r\n"
    assert store(c, b"c:1") == b"STORED\r\n"
    c.send(b"flush_prefix a\r\nflush_prefix b\r\nflush_prefix c\r\n")
    assert c.read_until(TOO_MANY) == b"OK\r\nOK\r\n" + TOO_MANY
    assert get(c, b"c:1") == value_of(b"c:1")  # the refused rule did nothing
    assert stats_dict(c)["flush_prefix_rules_active"] == "2"
    assert c.call(b"lru_crawler enable\r\n") == b"OK\r\n"  # the sweep catches up
    wait_for(lambda: stats_dict(c)["flush_prefix_rules_active"] == "0", what="the rules retired")
    assert c.call(b"flush_prefix c\r\n") == b"OK\r\n"
    assert get(c, b"c:1") == b"END\r\n"
    c.close()


def test_flush_prefix_splits_concurrent_writes_at_the_ok(server_factory):
    """A set acknowledged before the command was sent is gone; one sent after its OK stays."""
    server = server_factory()
    sent, done, stop = threading.Event(), threading.Event(), threading.Event()
    before, after = [], []

    def writer():
        w = Conn(server)
        i = 0
        while not stop.is_set():
            key = b"c:%d" % i
            late = done.is_set()
            assert store(w, key) == b"STORED\r\n"
            if late:
                after.append(key)
            elif not sent.is_set():
                before.append(key)
            i += 1
        w.close()

    t = threading.Thread(target=writer)
    t.start()
    c = Conn(server)
    wait_for(lambda: len(before) >= 200, what="writes before the command")
    sent.set()
    assert c.call(b"flush_prefix c:\r\n") == b"OK\r\n"
    done.set()
    wait_for(lambda: len(after) >= 200, what="writes after the command")
    stop.set()
    t.join()
    assert all(get(c, k) == b"END\r\n" for k in before)
    assert all(get(c, k) == value_of(k) for k in after)
    c.close()


def test_mp_is_flush_prefix_in_the_meta_protocol(server_factory):
    c = Conn(server_factory())
    for key in (b"m:1", b"m:2", b"n:1"):
        assert store(c, key) == b"STORED\r\n"
    assert c.call(b"mp m: O7 k\r\n") == b"HD O7 km:\r\n"
    assert get(c, b"m:1") == b"END\r\n"
    assert get(c, b"n:1") == value_of(b"n:1")
    assert store(c, b"bin:1") == b"STORED\r\n"
    assert c.call(b"mp YmluOg== b q\r\nmn\r\n", b"MN\r\n") == b"MN\r\n"  # base64 "bin:"
    assert get(c, b"bin:1") == b"END\r\n"
    assert c.call(b"mp m: v\r\n") == b"CLIENT_ERROR invalid flag\r\n"
    assert c.call(b"mp m: N10\r\n") == b"CLIENT_ERROR invalid flag\r\n"
    assert c.call(b"mp m: I Tx\r\n") == b"CLIENT_ERROR bad token in command line format\r\n"
    assert c.call(b"mp\r\n") == b"ERROR\r\n"
    assert int(stats_dict(c)["cmd_flush_prefix"]) == 2
    c.close()


def test_mp_refused_with_disable_flush_all(server_factory):
    c = Conn(server_factory("-F"))
    assert c.call(b"mp a:\r\n") == b"CLIENT_ERROR flush_prefix not allowed\r\n"
    c.close()


def test_flush_prefix_is_a_watched_mutation(server_factory):
    server = server_factory("-o", "flush_prefix_max_rules=1", "-o", "no_lru_crawler")
    w = WatchReader(server, b"mutations")
    c = Conn(server)
    assert c.call(b"flush_prefix a%20b\r\n") == b"OK\r\n"
    assert c.call(b"mp z\r\n") == TOO_MANY
    lines = w.until(lambda line: fields(line).get("prefix") == "z")
    cfd = "%d" % conn_fd_by_port(server, local_port(c))
    got = [(fields(line)["type"], fields(line)["prefix"], fields(line)["status"],
            fields(line)["cfd"]) for line in lines]
    assert got == [("flush_prefix", "a%2520b", "ok", cfd), ("flush_prefix", "z", "too_many_rules", cfd)]
    c.close()


def test_mp_stale_mode_marks_items_stale_without_a_miss_storm(server_factory):
    """mp I: the covered items stay readable but stale, as after md I: the first meta reader
    gets X and W (it recomputes), the others X and Z (they keep serving the old value)."""
    server = server_factory("-o", "no_lru_crawler")  # lookups, not the sweep, apply it here
    c = Conn(server)
    for key in (b"page:1", b"page:2", b"other"):
        assert store(c, key) == b"STORED\r\n"
    assert c.call(b"mp page: I\r\n") == b"HD\r\n"
    assert meta(c, b"mg page:1 v") == b"VA 1 X W\r\nv\r\n"
    assert meta(c, b"mg page:1 v") == b"VA 1 Z X\r\nv\r\n"
    assert get(c, b"page:2") == value_of(b"page:2")  # a classic get still hits
    assert meta(c, b"mg page:2 v") == b"VA 1 X W\r\nv\r\n"
    assert meta(c, b"mg other v") == b"VA 1\r\nv\r\n"
    # The winner's new value is fresh; the rule does not touch what was written after it.
    assert c.call(b"ms page:1 1\r\nn\r\n") == b"HD\r\n"
    assert meta(c, b"mg page:1 v") == b"VA 1\r\nn\r\n"
    assert int(stats_dict(c)["flush_prefix_items"]) == 2
    # Listings keep stale items.
    assert c.call(b"lru_crawler enable\r\n") == b"OK\r\n"
    dump = c.call(b"lru_crawler metadump all\r\n", b"END\r\n")
    assert dump.count(b"key=") == 3
    c.close()


def test_mp_stale_mode_sweep_marks_and_retires(server_factory):
    c = Conn(server_factory())
    c.send(b"".join(b"set s:%d 0 0 1 noreply\r\nv\r\n" % i for i in range(300)) + b"mn\r\n")
    assert c.read_until(b"MN\r\n") == b"MN\r\n"
    assert c.call(b"mp s: I\r\n") == b"HD\r\n"
    wait_for(lambda: stats_dict(c)["flush_prefix_rules_active"] == "0", what="the rule retired")
    assert stats_dict(c)["flush_prefix_items"] == "300"
    # Retired, the rule is gone but the marks stay: each item hands out one win.
    assert meta(c, b"mg s:7 v") == b"VA 1 X W\r\nv\r\n"
    assert meta(c, b"mg s:7 v") == b"VA 1 Z X\r\nv\r\n"
    assert int(stats_dict(c)["curr_items"]) == 300
    c.close()


def ttl_of(c, key):
    reply = meta(c, b"mg " + key + b" t")
    assert reply.startswith(b"HD"), reply
    return int(reply.split(b" t")[1].split()[0])


def test_mp_stale_ttl_applies_to_items_with_and_without_an_expiry(server_factory):
    """mp I T<ttl>: as md I T, the stale items get that TTL: in place for an item stored with
    one, by the sweep (which writes the same version again) for one stored without expiry."""
    server = server_factory("-o", "no_lru_crawler")
    c = Conn(server)
    assert store(c, b"t:ttl", exptime=1000) == b"STORED\r\n"
    assert store(c, b"t:never") == b"STORED\r\n"
    assert store(c, b"t:later", exptime=1000) == b"STORED\r\n"
    cas_before = meta(c, b"mg t:never c").split(b" c")[1].strip()
    assert c.call(b"mp t: I T30\r\n") == b"HD\r\n"
    assert meta(c, b"mg t:ttl v t") == b"VA 1 t30 X W\r\nv\r\n"
    # Marked by a lookup: stale, but no field to hold a TTL until the sweep passes.
    assert meta(c, b"mg t:never t v") == b"VA 1 t-1 X W\r\nv\r\n"
    assert c.call(b"lru_crawler enable\r\n") == b"OK\r\n"
    assert c.call(b"lru_crawler crawl all\r\n") == b"OK\r\n"
    wait_for(lambda: stats_dict(c)["flush_prefix_rules_active"] == "0", what="the rule retired")
    assert ttl_of(c, b"t:never") == 30
    assert ttl_of(c, b"t:later") == 30  # marked by the sweep
    # Same version: the CAS and the win already handed out are kept.
    assert meta(c, b"mg t:never c v") == b"VA 1 c%s Z X\r\nv\r\n" % cas_before
    # T without I changes no TTL (md's rule); T0 clears it.
    assert c.call(b"mp t: T5\r\n") == b"HD\r\n"
    assert store(c, b"t:zero", exptime=1000) == b"STORED\r\n"
    assert c.call(b"mp t:zero I T0\r\n") == b"HD\r\n"
    assert meta(c, b"mg t:zero t v") == b"VA 1 t-1 X W\r\nv\r\n"
    # The TTL runs out: the stale items are gone.
    debugtime(server, 31)
    assert get(c, b"t:ttl") == b"END\r\n"
    assert get(c, b"t:never") == b"END\r\n"
    assert get(c, b"t:zero") == value_of(b"t:zero")
    c.close()


def test_mp_w_answers_once_the_sweep_is_done_with_the_count(server_factory):
    server = server_factory()
    c = Conn(server)
    c.send(b"".join(b"set doc:%d 0 0 1 noreply\r\nv\r\n" % i for i in range(2000))
           + b"set keep 0 0 1 noreply\r\nv\r\nmn\r\n")
    assert c.read_until(b"MN\r\n") == b"MN\r\n"
    # Pipelined: the replies keep their order while mp waits.
    c.send(b"mp doc: w O9 k\r\nmn\r\n")
    assert c.read_until(b"MN\r\n") == b"HD n2000 O9 kdoc:\r\nMN\r\n"
    assert stats_dict(c)["flush_prefix_rules_active"] == "0"
    assert c.call(b"mp none: w\r\n") == b"HD n0\r\n"
    assert c.call(b"mp keep w q\r\nmn\r\n", b"MN\r\n") == b"MN\r\n"
    assert c.call(b"mg doc:1 w\r\n") == b"CLIENT_ERROR invalid flag\r\n"  # w is mp's alone
    c.close()


def test_mp_w_waits_for_a_switched_off_crawler(server_factory):
    server = server_factory("-o", "no_lru_crawler")
    c, other = Conn(server), Conn(server)
    for i in range(5):
        assert store(c, b"w:%d" % i) == b"STORED\r\n"
    c.send(b"mp w: w\r\n")
    # Sent on another connection: wait until it took effect.
    wait_for(lambda: stats_dict(other).get("flush_prefix_rules_active") == "1",
             what="the rule in place")
    # Others are served meanwhile.
    assert other.call(b"get w:1\r\n", b"END\r\n") == b"END\r\n"
    assert other.call(b"lru_crawler enable\r\n") == b"OK\r\n"  # the sweep runs, mp answers
    assert c.read_line() == b"HD n5\r\n"
    c.close()
    other.close()
