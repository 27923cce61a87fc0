"""`watch` log streams (docs/design/memcached-operator-behaviour.md §13).

Lines end in a bare \\n; the prefix is `ts=<sec>.<usec> gid=<n> type=<type>`. A watcher sees
events asynchronously, so tests read with a deadline until the expected line arrives, and prove
an absence by waiting for a later sentinel event from the same client (one client's events keep
their order).
"""
import re

import pytest

from conftest import Conn
from operator_helpers import (WatchReader, conn_fd_by_port, fields, local_port, stats_dict,
                              wait_for)

PREFIX = rb"^ts=\d+\.\d+ gid=\d+ "
GET_FOUND = re.compile(PREFIX + rb"type=item_get key=(\S+) status=found clsid=(\d+) cfd=(\d+) "
                       rb"size=(\d+)$")
GET_MISS = re.compile(PREFIX + rb"type=item_get key=(\S+) status=not_found clsid=0 cfd=(\d+) "
                      rb"size=0$")
STORE = re.compile(PREFIX + rb"type=item_store key=(\S+) status=(\w+) cmd=(\w+) ttl=(-?\d+) "
                   rb"clsid=(\d+) cfd=(\d+) size=(\d+)$")
EVICTION = re.compile(PREFIX + rb"type=eviction key=(\S+) fetch=(yes|no) ttl=(-?\d+) la=(\d+) "
                      rb"clsid=(\d+) size=(\d+)$")
CONN_NEW = re.compile(PREFIX + rb"type=conn_new rip=(\S+) rport=(\d+) transport=(\w+) "
                      rb"cfd=(\d+)$")
CONN_CLOSE = re.compile(PREFIX + rb"type=conn_close rip=(\S+) rport=(\d+) transport=(\w+) "
                        rb"reason=(\w+) cfd=(\d+)$")


@pytest.fixture(scope="module")
def server(module_server_factory):
    return module_server_factory()


def key_is(key):
    return lambda line: fields(line).get("key") == key


def test_watch_default_is_fetchers(server):
    w = WatchReader(server)
    c = Conn(server)
    assert c.call(b"set wf 0 0 3\r\nbar\r\n") == b"STORED\r\n"
    assert c.call(b"get wf\r\n", b"END\r\n") == b"VALUE wf 0 3\r\nbar\r\nEND\r\n"
    assert c.call(b"get wf-miss\r\n") == b"END\r\n"
    lines = w.until(key_is("wf-miss"))
    cfd = conn_fd_by_port(server, local_port(c))
    ours = [line for line in lines if fields(line).get("key", "").startswith("wf")]
    # set's internal lookup (miss), the get (hit), the second get (miss); no item_store line
    assert len(ours) == 3, ours
    assert GET_MISS.match(ours[0]).groups() == (b"wf", b"%d" % cfd)
    assert GET_FOUND.match(ours[1]).group(1, 3, 4) == (b"wf", b"%d" % cfd, b"3")
    assert GET_MISS.match(ours[2]).group(1) == b"wf-miss"
    gids = [int(fields(line)["gid"]) for line in ours]
    assert gids == sorted(gids) and len(set(gids)) == 3
    w.close()
    c.close()


def test_watch_fetchers_lookup_commands(server):
    w = WatchReader(server, b"fetchers")
    c = Conn(server)
    for req, reply in [(b"set lk 0 0 1\r\n5\r\n", b"STORED\r\n"), (b"gets lk\r\n", b"END\r\n"),
                       (b"touch lk 100\r\n", b"TOUCHED\r\n"), (b"incr lk 2\r\n", b"7\r\n"),
                       (b"decr lk 1\r\n", b"6\r\n"), (b"delete lk\r\n", b"DELETED\r\n"),
                       (b"delete lk\r\n", b"NOT_FOUND\r\n"), (b"incr lk 1\r\n", b"NOT_FOUND\r\n"),
                       (b"get lk-end\r\n", b"END\r\n")]:
        assert c.call(req, reply).endswith(reply)
    lines = [line for line in w.until(key_is("lk-end")) if fields(line).get("key") == "lk"]
    statuses = [fields(line)["status"] for line in lines]
    # set(miss) gets touch incr decr delete(hit) delete(miss) incr(miss)
    assert statuses == ["not_found", "found", "found", "found", "found", "found",
                        "not_found", "not_found"], lines
    w.close()
    c.close()


def test_watch_mutations(server):
    w = WatchReader(server, b"mutations")
    c = Conn(server)
    for req, reply in [
            (b"set mu 5 100 3\r\nbar\r\n", b"STORED\r\n"),
            (b"add mu 0 0 1\r\nx\r\n", b"NOT_STORED\r\n"),
            (b"append mu 0 0 2\r\nzz\r\n", b"STORED\r\n"),
            (b"cas mu 0 0 1 999999\r\nx\r\n", b"EXISTS\r\n"),
            (b"replace mu-none 0 0 1\r\nx\r\n", b"NOT_STORED\r\n"),
            (b"ms mu-meta 2\r\nhi\r\n", b"HD\r\n"),
            (b"delete mu\r\n", b"DELETED\r\n"),
            (b"set mu-end 0 0 1\r\nx\r\n", b"STORED\r\n")]:
        assert c.call(req) == reply
    lines = w.until(key_is("mu-end"))
    cfd = b"%d" % conn_fd_by_port(server, local_port(c))
    parsed = [STORE.match(line) for line in lines]
    assert all(parsed), lines
    got = [(m.group(1), m.group(2), m.group(3), m.group(7)) for m in parsed]
    assert got == [
        (b"mu", b"stored", b"set", b"3"),
        (b"mu", b"not_stored", b"add", b"1"),
        (b"mu", b"stored", b"append", b"5"),
        (b"mu", b"exists", b"cas", b"1"),
        (b"mu-none", b"not_stored", b"replace", b"1"),
        (b"mu-meta", b"stored", b"set", b"2"),  # ms logs as set; delete logs nothing
        (b"mu-end", b"stored", b"set", b"1"),
    ]
    assert parsed[0].group(4) == b"100"  # ttl: remaining seconds
    assert parsed[-1].group(4) == b"0"
    assert all(m.group(6) == cfd for m in parsed)
    w.close()
    c.close()


def test_watch_several_streams_and_urlencoded_keys(server):
    w = WatchReader(server, b"fetchers", b"mutations", b"connevents")
    c = Conn(server)
    key = b"a%b/c\xc3\xa9"
    assert c.call(b"set " + key + b" 0 0 1\r\nx\r\n") == b"STORED\r\n"
    assert c.call(b"get " + key + b"\r\n", b"END\r\n").startswith(b"VALUE ")
    assert c.call(b"quit\r\n", b"") == b""
    port = local_port(c)
    lines = w.until(lambda line: CONN_CLOSE.match(line) and
                    CONN_CLOSE.match(line).group(2) == b"%d" % port, what="conn_close")
    types = [fields(line)["type"] for line in lines if f"rport={port} " in line.decode()
             or fields(line).get("key") == "a%25b%2Fc%C3%A9"]
    assert types == ["conn_new", "item_get", "item_store", "item_get", "conn_close"], lines
    w.close()
    c.close()


def test_watch_connevents(server):
    w = WatchReader(server, b"connevents")
    c = Conn(server)
    port = local_port(c)
    assert c.call(b"version\r\n") == b"VERSION 1.6.18\r\n"
    c.close()
    lines = w.until(lambda line: b"type=conn_close" in line and b"rport=%d " % port in line,
                    what="conn_close")
    new = [CONN_NEW.match(line) for line in lines if b"rport=%d " % port in line][0]
    close = CONN_CLOSE.match(lines[-1])
    assert new and new.group(1, 2, 3) == (b"127.0.0.1", b"%d" % port, b"tcp")
    assert close.group(1, 2, 3, 4) == (b"127.0.0.1", b"%d" % port, b"tcp", b"normal")
    assert new.group(4) == close.group(5)
    w.close()


def _close_reason(server, send):
    """Connects, sends `send`, reads until the server hangs up; the conn_close reason logged."""
    w = WatchReader(server, b"connevents")
    c = Conn(server)
    port = local_port(c)
    c.send(send)
    while c.sock.recv(65536):  # until EOF: the server hangs up (a timeout fails the test)
        pass
    lines = w.until(lambda line: b"type=conn_close" in line and b"rport=%d " % port in line,
                    what="conn_close")
    w.close()
    c.close()
    return CONN_CLOSE.match(lines[-1]).group(4)


@pytest.mark.parametrize("send,reason", [
    (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"error"),  # an HTTP client: hang up
    (b"x" * 3000, b"error"),  # a line too long to be a command
    (b"\x80\x0a" + b"\x00" * 22 + b"\x81" + b"\x00" * 23, b"error"),  # noop, then bad magic
    # binary: a GET with extras is refused (Invalid arguments), then closed
    (b"\x80\x00\x00\x01\x04" + b"\x00" * 3 + b"\x00\x00\x00\x05" + b"\x00" * 12 + b"xxxxk",
     b"error"),
    (b"version\r\nquit\r\n", b"normal"),
])
def test_watch_connevents_close_reason(server, send, reason):
    assert _close_reason(server, send) == reason


def test_watch_connevents_unix(unix_server):
    w = WatchReader(unix_server, b"connevents")
    c = Conn(unix_server)
    # Connections of earlier tests may still be closing: follow this client's fd.
    lines = w.until(lambda line: b"type=conn_new" in line, what="conn_new")
    new = CONN_NEW.match(lines[-1])
    assert new.group(1, 2, 3) == (b"unix", b"0", b"local")
    assert c.call(b"quit\r\n", b"") == b""
    lines = w.until(lambda line: b"type=conn_close" in line and
                    line.endswith(b" cfd=" + new.group(4)), what="conn_close")
    assert CONN_CLOSE.match(lines[-1]).group(1, 2, 3, 4) == (b"unix", b"0", b"local", b"normal")
    w.close()
    c.close()


def test_watch_evictions(module_server_factory):
    server = module_server_factory("-m", "8")
    w = WatchReader(server, b"evictions")
    c = Conn(server, timeout=30)
    value = b"e" * 10000
    c.send(b"".join(b"set ev%d 0 %d 10000 noreply\r\n%s\r\n" % (i, 0 if i % 2 else 1000, value)
                    for i in range(3000)) + b"mn\r\n")
    assert c.read_line() == b"MN\r\n"
    line = w.next_line()
    m = EVICTION.match(line)
    assert m, line
    key, fetch, ttl, _la, _cls, size = m.groups()
    assert key.startswith(b"ev") and fetch == b"no" and size == b"10000"
    assert ttl == b"-1" if int(key[2:]) % 2 else 0 < int(ttl) <= 1000
    w.close()
    c.close()


def test_watch_connection_ignores_further_commands(server):
    w = WatchReader(server)
    w.conn.send(b"version\r\nget x\r\n")
    c = Conn(server)
    assert c.call(b"get ign-sentinel\r\n") == b"END\r\n"
    lines = w.until(key_is("ign-sentinel"))
    assert all(line.startswith(b"ts=") for line in lines)  # no VERSION / END reply in between
    w.close()
    c.close()


@pytest.mark.parametrize("flag", [b"rawcmds", b"sysevents", b"proxyreqs", b"proxyevents",
                                  b"proxyuser"])
def test_watch_other_streams_accepted(server, flag):
    c = Conn(server)
    assert c.call(b"watch " + flag + b"\r\n") == b"OK\r\n"
    c.close()


@pytest.mark.parametrize("args", [b"bogus", b"FETCHERS", b"fetchers bogus", b"deletions"])
def test_watch_bad_argument(server, args):
    c = Conn(server)
    assert c.call(b"watch " + args + b"\r\n") == b"ERROR\r\n"
    assert c.call(b"version\r\n") == b"VERSION 1.6.18\r\n"
    c.close()


def test_watch_must_come_first(server):
    c = Conn(server)
    err = b"ERROR cannot pipeline other commands before watch\r\n"
    assert c.call(b"version\r\nwatch\r\n", err) == b"VERSION 1.6.18\r\n" + err
    assert c.call(b"version\r\n") == b"VERSION 1.6.18\r\n"
    c.close()


def test_watch_refused_with_W(module_server_factory):
    server = module_server_factory("-W")
    c = Conn(server)
    for args in (b"", b" fetchers", b" bogus"):
        assert c.call(b"watch" + args + b"\r\n") == b"CLIENT_ERROR watch commands not allowed\r\n"
    assert c.call(b"version\r\n") == b"VERSION 1.6.18\r\n"
    c.close()


def test_at_most_twenty_watchers(server_factory):
    server = server_factory()
    watchers = [WatchReader(server, b"mutations") for _ in range(20)]
    wait_for(lambda: stats_dict(server)["log_watchers"] == "20", what="20 watchers")
    c = Conn(server)
    assert c.call(b"watch\r\n") == b"WATCHER_TOO_MANY log watcher limit reached\r\n"
    # Refused, it is still an ordinary connection.
    assert c.call(b"set w21 0 0 1\r\nx\r\n") == b"STORED\r\n"
    assert c.call(b"get w21\r\n", b"END\r\n") == b"VALUE w21 0 1\r\nx\r\nEND\r\n"
    watchers.pop().conn.close()
    wait_for(lambda: stats_dict(server)["log_watchers"] == "19", what="a watcher gone")
    assert c.call(b"watch mutations\r\n") == b"OK\r\n"  # room again
    c.close()
    for w in watchers:
        w.conn.close()
