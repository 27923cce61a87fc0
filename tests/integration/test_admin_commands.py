"""Admin commands: lru_crawler, slabs, cache_memlimit, shutdown (with and without -A), verbosity, and
what -v / -vv print on stderr (docs/design/memcached-operator-behaviour.md §10-§12).
"""
import re

import pytest

from conftest import memcached_only_difference, Conn, debugtime
from operator_helpers import call, stats_dict, wait_for


@pytest.fixture(scope="module")
def server(module_server_factory):
    return module_server_factory()


@pytest.fixture
def conn(server):
    c = Conn(server)
    yield c
    c.close()


def metadump_after_enable(server):
    """`lru_crawler metadump all` right after `lru_crawler enable`. memcached starts the crawler
    thread asynchronously and a request that arrives before the thread waits is lost (the client
    hangs), so retry on a new connection until one is answered."""
    def attempt():
        c = Conn(server, timeout=1)
        try:
            c.send(b"lru_crawler metadump all\r\n")
            return c.read_until(b"END\r\n")
        except OSError:
            return None
        finally:
            c.close()
    return wait_for(attempt, what="metadump after enable")


def exact(conn, request, reply):
    """Sends `request`, checks the exact one-line reply, then that the connection is in sync."""
    assert conn.call(request) == reply, request
    assert conn.call(b"version\r\n") == b"VERSION 1.6.18\r\n"


# --------------------------------------------------------------------------- lru_crawler

CRAWLER_REPLIES = [
    (b"lru_crawler\r\n", b"ERROR\r\n"),
    (b"lru_crawler bogus\r\n", b"ERROR\r\n"),
    (b"lru_crawler crawl\r\n", b"ERROR\r\n"),
    (b"lru_crawler crawl 1 x\r\n", b"ERROR\r\n"),
    (b"lru_crawler sleep\r\n", b"ERROR\r\n"),
    (b"lru_crawler enable x\r\n", b"ERROR\r\n"),
    (b"lru_crawler crawl 0\r\n", b"BADCLASS invalid class id\r\n"),
    (b"lru_crawler crawl 64\r\n", b"BADCLASS invalid class id\r\n"),
    (b"lru_crawler crawl x\r\n", b"BADCLASS invalid class id\r\n"),
    (b"lru_crawler sleep 1000001\r\n", b"CLIENT_ERROR sleep must be one second or less\r\n"),
    (b"lru_crawler sleep x\r\n", b"CLIENT_ERROR bad command line format\r\n"),
    (b"lru_crawler sleep -1\r\n", b"CLIENT_ERROR bad command line format\r\n"),
    (b"lru_crawler tocrawl x\r\n", b"CLIENT_ERROR bad command line format\r\n"),
    (b"lru_crawler tocrawl -1\r\n", b"CLIENT_ERROR bad command line format\r\n"),
]


@pytest.mark.parametrize("request_line,reply", CRAWLER_REPLIES)
def test_lru_crawler_errors(conn, request_line, reply):
    exact(conn, request_line, reply)


def _crawl_ok(conn, arg):
    """`lru_crawler crawl <arg>` → OK (a crawl still running from the previous request answers
    BUSY for a moment: poll)."""
    def attempt():
        reply = conn.call(b"lru_crawler crawl " + arg + b"\r\n")
        assert reply in (b"OK\r\n", b"BUSY currently processing crawler request\r\n"), reply
        return reply == b"OK\r\n"
    wait_for(attempt, what=f"crawl {arg!r} accepted")


def test_lru_crawler_crawl(conn):
    assert conn.call(b"set crawl-me 0 0 1\r\nx\r\n") == b"STORED\r\n"
    for arg in (b"all", b"1", b"1,2,3", b"2", b"63"):
        _crawl_ok(conn, arg)


# Without memcached's LRU maintainer (which reclaims in the background and runs the autocrawl),
# so that only the crawl asked for reclaims. Flushed items are used because both servers treat
# them like expired ones without any time passing; the later writes go to another size class,
# since memcached's allocation reclaims dead items at the tail of its own class.
NO_MAINTAINER = ("-o", "no_lru_maintainer")
BIG = b"b" * 3000


def _crawler_counts(c):
    s = stats_dict(c)
    return (int(s["crawler_reclaimed"]), int(s["crawler_items_checked"]), int(s["curr_items"]))


def _class_counters(c, name):
    """{class id: value} of `stats items` items:<id>:<name>, classes with a non-zero value."""
    out = {}
    for key, value in stats_dict(c, b"items").items():
        parts = key.split(":")
        if len(parts) == 3 and parts[2] == name and value != "0":
            out[int(parts[1])] = int(value)
    return out


def _finished_crawl(c, starts):
    """Waits until the crawl started after `starts` passes has finished."""
    def done():
        s = stats_dict(c)
        return int(s["lru_crawler_starts"]) > starts and s["lru_crawler_running"] == "0"
    wait_for(done, what="the crawl to finish")


def _twenty_flushed_ten_live(c):
    """20 small items hidden by a flush_all, then 10 live ones of another size class."""
    for i in range(20):
        assert c.call(b"set f%d 0 0 1\r\nx\r\n" % i) == b"STORED\r\n"
    assert c.call(b"flush_all\r\n") == b"OK\r\n"
    for i in range(10):
        assert c.call(b"set l%d 0 0 %d\r\n%s\r\n" % (i, len(BIG), BIG)) == b"STORED\r\n"


def test_lru_crawler_crawl_reclaims_flushed_items(server_factory):
    c = Conn(server_factory(*NO_MAINTAINER))
    _twenty_flushed_ten_live(c)
    starts = int(stats_dict(c)["lru_crawler_starts"])
    assert c.call(b"lru_crawler crawl all\r\n") == b"OK\r\n"
    _finished_crawl(c, starts)
    assert _crawler_counts(c) == (20, 30, 10)
    # `stats items` lists only classes that hold items: the emptied one is gone.
    assert _class_counters(c, "crawler_reclaimed") == {}
    assert list(_class_counters(c, "crawler_items_checked").values()) == [10]
    assert int(stats_dict(c)["get_flushed"]) == 0  # the crawler met them first
    assert c.call(b"get l3\r\n", b"END\r\n") == b"VALUE l3 0 %d\r\n%s\r\nEND\r\n" % (
        len(BIG), BIG)
    c.close()


def test_lru_crawler_tocrawl_limits_each_class(server_factory):
    c = Conn(server_factory(*NO_MAINTAINER))
    _twenty_flushed_ten_live(c)
    assert c.call(b"lru_crawler tocrawl 5\r\n") == b"OK\r\n"
    for n in (1, 2):
        starts = int(stats_dict(c)["lru_crawler_starts"])
        assert c.call(b"lru_crawler crawl all\r\n") == b"OK\r\n"
        _finished_crawl(c, starts)
        assert _crawler_counts(c) == (5 * n, 10 * n, 30 - 5 * n)
    c.close()


@memcached_only_difference("debugtime moves cachet's clock; memcached's items expire in real time")
def test_lru_crawler_crawl_reclaims_expired_items_of_the_classes_asked(server_factory):
    server = server_factory(*NO_MAINTAINER)
    c = Conn(server)
    for i in range(30):
        assert c.call(b"set e%d 0 100 1\r\nx\r\n" % i) == b"STORED\r\n"
    for i in range(5):
        assert c.call(b"set b%d 0 100 %d\r\n%s\r\n" % (i, len(BIG), BIG)) == b"STORED\r\n"
    assert c.call(b"set keep 0 0 1\r\nx\r\n") == b"STORED\r\n"
    assert c.call(b"get e0\r\n", b"END\r\n") == b"VALUE e0 0 1\r\nx\r\nEND\r\n"  # fetched
    debugtime(server, 200)
    small = int(re.search(rb"items:(\d+):number 31\r\n",
                          c.call(b"stats items\r\n", b"END\r\n")).group(1))
    starts = int(stats_dict(c)["lru_crawler_starts"])
    assert c.call(b"lru_crawler crawl %d\r\n" % small) == b"OK\r\n"
    _finished_crawl(c, starts)
    s = stats_dict(c)
    assert (int(s["crawler_reclaimed"]), int(s["crawler_items_checked"])) == (30, 31)
    assert (int(s["curr_items"]), int(s["expired_unfetched"])) == (6, 29)  # e0 was fetched
    assert _class_counters(c, "crawler_reclaimed") == {small: 30}
    c.close()


def test_lru_crawler_sleep_and_tocrawl_settings(module_server_factory):
    server = module_server_factory()
    c = Conn(server)
    exact(c, b"lru_crawler sleep 0\r\n", b"OK\r\n")
    exact(c, b"lru_crawler sleep 1000000\r\n", b"OK\r\n")
    exact(c, b"lru_crawler tocrawl 5\r\n", b"OK\r\n")
    s = stats_dict(c, b"settings")
    assert (s["lru_crawler_sleep"], s["lru_crawler_tocrawl"]) == ("1000000", "5")
    exact(c, b"lru_crawler sleep 100\r\n", b"OK\r\n")
    exact(c, b"lru_crawler tocrawl 0\r\n", b"OK\r\n")
    s = stats_dict(c, b"settings")
    assert (s["lru_crawler_sleep"], s["lru_crawler_tocrawl"]) == ("100", "0")
    c.close()


def test_lru_crawler_disable_enable(module_server_factory):
    server = module_server_factory()
    c = Conn(server)
    exact(c, b"lru_crawler enable\r\n", b"ERROR failed to start lru crawler thread\r\n")
    exact(c, b"lru_crawler disable\r\n", b"OK\r\n")
    exact(c, b"lru_crawler disable\r\n", b"OK\r\n")
    # memcached stops the thread asynchronously
    wait_for(lambda: stats_dict(c, b"settings")["lru_crawler"] == "no", what="crawler off")
    exact(c, b"lru_crawler crawl all\r\n", b"CLIENT_ERROR lru crawler disabled\r\n")
    exact(c, b"lru_crawler metadump all\r\n", b"CLIENT_ERROR lru crawler disabled\r\n")
    exact(c, b"lru_crawler enable\r\n", b"OK\r\n")
    assert stats_dict(c, b"settings")["lru_crawler"] == "yes"
    assert metadump_after_enable(server) == b"END\r\n"
    c.close()


def test_lru_crawler_off_at_start(module_server_factory):
    server = module_server_factory("-o", "no_lru_crawler")
    c = Conn(server)
    assert c.call(b"set nc 0 0 1\r\nx\r\n") == b"STORED\r\n"
    exact(c, b"lru_crawler metadump all\r\n", b"CLIENT_ERROR lru crawler disabled\r\n")
    exact(c, b"lru_crawler crawl all\r\n", b"CLIENT_ERROR lru crawler disabled\r\n")
    exact(c, b"lru_crawler enable\r\n", b"OK\r\n")
    assert metadump_after_enable(server).startswith(b"key=nc exp=-1 ")
    c.close()


# --------------------------------------------------------------------------- cache_memlimit

@pytest.mark.parametrize("request_line,reply", [
    (b"cache_memlimit\r\n", b"ERROR\r\n"),
    (b"cache_memlimit x\r\n", b"ERROR\r\n"),
    (b"cache_memlimit -1\r\n", b"ERROR\r\n"),
    (b"cache_memlimit 64 noreply x\r\n", b"ERROR\r\n"),
    (b"cache_memlimit 7\r\n", b"MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n"),
    (b"cache_memlimit 0\r\n", b"MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n"),
    (b"cache_memlimit 1000000001\r\n",
     b"MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes\r\n"),
])
def test_cache_memlimit_errors(conn, request_line, reply):
    exact(conn, request_line, reply)


def test_cache_memlimit_changes_limit_maxbytes(module_server_factory):
    # Started with -m 128: cachet maps its arena for the startup -m, so it can lower the limit
    # and raise it back, but not past it (see the next-but-one test).
    server = module_server_factory("-m", "128")
    c = Conn(server)
    exact(c, b"cache_memlimit 100\r\n", b"OK\r\n")
    assert stats_dict(c)["limit_maxbytes"] == str(100 * 1048576)
    exact(c, b"cache_memlimit 8\r\n", b"OK\r\n")
    assert stats_dict(c)["limit_maxbytes"] == str(8 * 1048576)
    exact(c, b"cache_memlimit 64 x\r\n", b"OK\r\n")  # a third token other than noreply: ignored
    assert stats_dict(c)["limit_maxbytes"] == str(64 * 1048576)
    # noreply silences OK and errors alike
    assert c.call(b"cache_memlimit 70 noreply\r\nversion\r\n") == b"VERSION 1.6.18\r\n"
    assert stats_dict(c)["limit_maxbytes"] == str(70 * 1048576)
    assert c.call(b"cache_memlimit 4 noreply\r\nversion\r\n") == b"VERSION 1.6.18\r\n"
    assert stats_dict(c)["limit_maxbytes"] == str(70 * 1048576)
    c.close()


def test_cache_memlimit_changes_settings_maxbytes(module_server_factory):
    server = module_server_factory("-m", "128")
    c = Conn(server)
    exact(c, b"cache_memlimit 100\r\n", b"OK\r\n")
    assert stats_dict(c, b"settings")["maxbytes"] == "104857600"
    c.close()


# --------------------------------------------------------------------------- slabs

# What memcached 1.6.18 answers on a cache with no spare slab pages (an empty one; cachet never
# has pages to move, so these stay its answers whatever it holds).
SLABS_REPLIES = [
    (b"slabs\r\n", b"ERROR\r\n"),
    (b"slabs foo\r\n", b"ERROR\r\n"),
    (b"slabs automove\r\n", b"ERROR\r\n"),
    (b"slabs automove 3\r\n", b"ERROR\r\n"),
    (b"slabs automove invalid\r\n", b"CLIENT_ERROR bad command line format\r\n"),
    (b"slabs automove -1\r\n", b"CLIENT_ERROR bad command line format\r\n"),
    (b"slabs automove ratio\r\n", b"ERROR\r\n"),
    (b"slabs automove ratio x\r\n", b"ERROR\r\n"),
    (b"slabs reassign 1\r\n", b"ERROR\r\n"),
    (b"slabs reassign 1 2 3\r\n", b"ERROR\r\n"),
    (b"slabs reassign 1 2 noreply\r\n", b"ERROR\r\n"),  # exactly two arguments
    (b"slabs reassign a b\r\n", b"CLIENT_ERROR bad command line format\r\n"),
    (b"slabs reassign 1 2x\r\n", b"CLIENT_ERROR bad command line format\r\n"),
    (b"slabs reassign 1 1\r\n", b"SAME src and dst class are identical\r\n"),
    (b"slabs reassign -1 -1\r\n", b"SAME src and dst class are identical\r\n"),
    (b"slabs reassign -1 5\r\n", b"BADCLASS invalid src or dst class id\r\n"),
    (b"slabs reassign -2 1\r\n", b"BADCLASS invalid src or dst class id\r\n"),
    (b"slabs reassign 5 -1\r\n", b"BADCLASS invalid src or dst class id\r\n"),
    (b"slabs reassign 70 1\r\n", b"BADCLASS invalid src or dst class id\r\n"),
    (b"slabs reassign 99999999999 1\r\n", b"BADCLASS invalid src or dst class id\r\n"),
    (b"slabs reassign 1 2\r\n", b"NOSPARE source class has no spare pages\r\n"),
    (b"slabs reassign 0 5\r\n", b"NOSPARE source class has no spare pages\r\n"),
]


@pytest.mark.parametrize("request_line,reply", SLABS_REPLIES)
def test_slabs_replies(conn, request_line, reply):
    exact(conn, request_line, reply)


def test_slabs_automove_follows_in_stats_settings(module_server_factory):
    server = module_server_factory()
    c = Conn(server)
    assert stats_dict(c, b"settings")["slab_automove"] == "1"
    exact(c, b"slabs automove 2\r\n", b"OK\r\n")
    assert stats_dict(c, b"settings")["slab_automove"] == "2"
    exact(c, b"slabs automove 0 extra\r\n", b"OK\r\n")  # further tokens are ignored
    assert stats_dict(c, b"settings")["slab_automove"] == "0"
    # noreply silences OK and errors alike
    assert c.call(b"slabs automove 1 noreply\r\nversion\r\n") == b"VERSION 1.6.18\r\n"
    assert c.call(b"slabs automove 3 noreply\r\nversion\r\n") == b"VERSION 1.6.18\r\n"
    assert stats_dict(c, b"settings")["slab_automove"] == "1"
    exact(c, b"slabs automove ratio 0.5\r\n", b"OK\r\n")
    assert stats_dict(c, b"settings")["slab_automove_ratio"] == "0.50"
    c.close()


@pytest.mark.parametrize("factor,largest", [(None, 39), ("2", 13)])
def test_slabs_reassign_knows_the_class_ids(module_server_factory, factor, largest):
    # The valid ids are memcached's classes for this -f (and -n, -I).
    server = module_server_factory(*(("-f", factor) if factor else ()))
    c = Conn(server)
    exact(c, b"slabs reassign 1 %d\r\n" % largest, b"NOSPARE source class has no spare pages\r\n")
    exact(c, b"slabs reassign %d 1\r\n" % (largest + 1),
          b"BADCLASS invalid src or dst class id\r\n")
    c.close()


@memcached_only_difference("cachet cannot raise cache_memlimit above the startup -m")
def test_cache_memlimit_above_startup_limit_is_refused(module_server_factory):
    server = module_server_factory("-m", "64")
    c = Conn(server)
    exact(c, b"cache_memlimit 65\r\n",
          b"MEMLIMIT_ADJUST_FAILED out of bounds or unable to adjust\r\n")
    assert stats_dict(c)["limit_maxbytes"] == str(64 * 1048576)
    exact(c, b"cache_memlimit 32\r\n", b"OK\r\n")
    # A refused raise leaves the limit where it was.
    exact(c, b"cache_memlimit 100000\r\n",
          b"MEMLIMIT_ADJUST_FAILED out of bounds or unable to adjust\r\n")
    assert stats_dict(c)["limit_maxbytes"] == str(32 * 1048576)
    exact(c, b"cache_memlimit 64\r\n", b"OK\r\n")
    c.close()


# --------------------------------------------------------------------------- shutdown

@pytest.mark.parametrize("request_line", [b"shutdown\r\n", b"shutdown graceful\r\n",
                                          b"shutdown x\r\n"])
def test_shutdown_not_enabled(conn, server, request_line):
    exact(conn, request_line, b"ERROR: shutdown not enabled\r\n")
    assert server.proc.poll() is None


@pytest.mark.parametrize("request_line", [b"shutdown\r\n", b"shutdown graceful\r\n"])
def test_shutdown_with_A(server_factory, request_line):
    server = server_factory("-A")
    bystander = Conn(server)
    assert bystander.call(b"version\r\n") == b"VERSION 1.6.18\r\n"
    c = Conn(server)
    c.send(request_line)
    assert c.is_closed(timeout=10)  # no reply bytes, just the close
    assert c.buf == b""
    assert bystander.is_closed(timeout=10)
    wait_for(lambda: server.proc.poll() is not None, what="server exit")
    assert server.proc.returncode == 0
    c.close()
    bystander.close()


@pytest.mark.parametrize("request_line", [b"shutdown bogus\r\n", b"shutdown graceful x\r\n",
                                          b"shutdown noreply\r\n"])
def test_shutdown_with_A_bad_mode(module_server_factory, request_line):
    server = module_server_factory("-A")
    c = Conn(server)
    exact(c, request_line, b"CLIENT_ERROR invalid shutdown mode\r\n")
    assert server.proc.poll() is None
    c.close()


# --------------------------------------------------------------------------- verbosity

@pytest.fixture(scope="module")
def verbose_server(module_server_factory):
    """A -vv server: commands of its clients are echoed on stderr."""
    return module_server_factory("-vv")


@pytest.mark.parametrize("request_line,reply", [
    (b"verbosity\r\n", b"ERROR\r\n"),
    (b"verbosity 1 2 3\r\n", b"ERROR\r\n"),
    (b"verbosity x\r\n", b"CLIENT_ERROR bad command line format\r\n"),
    (b"verbosity -1\r\n", b"CLIENT_ERROR bad command line format\r\n"),
])
def test_verbosity_errors(conn, request_line, reply):
    exact(conn, request_line, reply)


def test_verbosity_levels(module_server_factory):
    server = module_server_factory()
    c = Conn(server)

    def level():
        return stats_dict(c, b"settings")["verbosity"]

    exact(c, b"verbosity 1\r\n", b"OK\r\n")
    assert level() == "1"
    exact(c, b"verbosity 5\r\n", b"OK\r\n")
    assert level() == "2"  # capped
    exact(c, b"verbosity 1 2\r\n", b"OK\r\n")
    assert level() == "1"
    assert c.call(b"verbosity 0 noreply\r\nversion\r\n") == b"VERSION 1.6.18\r\n"
    assert level() == "0"
    assert c.call(b"verbosity noreply\r\nversion\r\n") == b"VERSION 1.6.18\r\n"
    assert level() == "0"
    c.close()


def _fd_of_client(server, marker):
    """The fd a -vv server printed for the client whose command line was `marker`."""
    m = re.search(r"^<(\d+) " + re.escape(marker) + r"$", server.output(), re.M)
    return int(m.group(1)) if m else None


def test_vv_logs_commands_and_replies(verbose_server):
    c = Conn(verbose_server)
    assert c.call(b"set vv-foo 0 0 3\r\nbar\r\n") == b"STORED\r\n"
    assert c.call(b"get vv-foo\r\n", b"END\r\n") == b"VALUE vv-foo 0 3\r\nbar\r\nEND\r\n"
    assert c.call(b"get vv-nope\r\n") == b"END\r\n"
    assert c.call(b"bogus-vv\r\n") == b"ERROR\r\n"
    c.send(b"quit\r\n")
    assert c.is_closed()
    c.close()
    fd = wait_for(lambda: _fd_of_client(verbose_server, "set vv-foo 0 0 3"), what="set logged")
    wait_for(lambda: f"<{fd} connection closed.\n" in verbose_server.output(),
             what="close logged")
    out = verbose_server.output()
    start = out.rindex(f"<{fd} set vv-foo 0 0 3\n")
    expected = [f"<{fd} set vv-foo 0 0 3", f">{fd} STORED", f"<{fd} get vv-foo",
                f">{fd} sending key vv-foo", f">{fd} END", f"<{fd} get vv-nope", f">{fd} END",
                f"<{fd} bogus-vv", f">{fd} ERROR", f"<{fd} quit", f"<{fd} connection closed."]
    mine = [line for line in out[start:].split("\n")
            if line.startswith((f"<{fd} ", f">{fd} "))]
    assert mine[:len(expected)] == expected
    before = out[:start]
    assert f"<{fd} new auto-negotiating client connection\n" in before
    assert f"{fd}: Client using the ascii protocol\n" in before


def test_vv_listening_line(verbose_server):
    assert re.search(r"^<\d+ server listening \(auto-negotiate\)$", verbose_server.output(), re.M)


def test_v_does_not_log_commands(module_server_factory):
    server = module_server_factory("-v")
    c = Conn(server)
    assert c.call(b"get v-quiet\r\n") == b"END\r\n"
    # raise verbosity at runtime, then a sentinel command from another client must show up
    assert c.call(b"verbosity 2\r\n") == b"OK\r\n"
    s = Conn(server)
    assert s.call(b"get v-sentinel\r\n") == b"END\r\n"
    wait_for(lambda: _fd_of_client(server, "get v-sentinel"), what="sentinel logged")
    assert "get v-quiet" not in server.output()
    c.close()
    s.close()


def test_verbosity_zero_silences_vv(module_server_factory):
    server = module_server_factory("-vv")
    c = Conn(server)
    assert c.call(b"verbosity 0\r\n") == b"OK\r\n"
    assert c.call(b"get silenced\r\n") == b"END\r\n"
    assert c.call(b"verbosity 2\r\n") == b"OK\r\n"
    assert c.call(b"get audible\r\n") == b"END\r\n"
    wait_for(lambda: _fd_of_client(server, "get audible"), what="audible logged")
    assert "get silenced" not in server.output()
    c.close()


def test_v_memlimit_message(module_server_factory):
    server = module_server_factory("-v", "-m", "128")
    assert call(server, b"cache_memlimit 100\r\n") == b"OK\r\n"
    wait_for(lambda: "maxbytes adjusted to 100m\n" in server.output(), what="memlimit message")
