"""Byte-exact text protocol behaviour of memcached 1.6.18 that cachet must reproduce.

Every expected byte string here was probed against Debian's /usr/bin/memcached 1.6.18; see
docs/design/memcached-text-behaviour.md. Most tests share one server per module (memcached takes
about a second to stop on SIGTERM); each test gets a fresh connection and an emptied cache
(the fixture's immediate flush_all also replaces any delayed flush a previous test left pending).
Tests that need pristine counters start their own server. Expiry tests move the clock with
debugtime; against release memcached they skip at the first clock jump, after their
memcached-compatible part has run.
"""
import pytest

from conftest import Conn, debugtime
from text_helpers import (BAD_DELTA, BAD_EXPTIME, BAD_FORMAT, DELETE_USAGE, INT_RE, NON_NUMERIC,
                          RUSAGE_RE, VERSION_LINE, assert_quiet, get, gets_cas, read_retrieval,
                          stats, storage, store, value_block)


# --- misc commands -------------------------------------------------------------------------

def test_version(mc):
    assert mc.call(b"version\r\n") == VERSION_LINE
    assert mc.call(b"version extra tokens\r\n") == VERSION_LINE
    assert mc.call(b"version noreply\r\n") == VERSION_LINE  # not a noreply command


@pytest.mark.parametrize("line,reply", [
    (b"verbosity 1\r\n", b"OK\r\n"),
    (b"verbosity 0\r\n", b"OK\r\n"),
    (b"verbosity 1 extra\r\n", b"OK\r\n"),
    (b"verbosity 99999999999999\r\n", b"OK\r\n"),
    (b"verbosity\r\n", b"ERROR\r\n"),
    (b"verbosity 1 2 3\r\n", b"ERROR\r\n"),
    (b"verbosity abc\r\n", BAD_FORMAT),
    (b"verbosity -1\r\n", BAD_FORMAT),
])
def test_verbosity(mc, line, reply):
    assert mc.call(line) == reply
    mc.call(b"verbosity 0\r\n")


def test_verbosity_noreply(mc):
    mc.send(b"verbosity 1 noreply\r\nverbosity noreply\r\nverbosity abc noreply\r\nverbosity 0 noreply\r\n")
    assert_quiet(mc)


@pytest.mark.parametrize("line", [b"quit\r\n", b"quit now\r\n", b"quit noreply\r\n"])
def test_quit_closes_connection(mc, line):
    mc.send(b"set q 0 0 1\r\nx\r\n" + line + b"get q\r\n")
    assert mc.read_line() == b"STORED\r\n"
    assert mc.is_closed()  # nothing after quit is executed or answered


@pytest.mark.parametrize("line", [
    b"foo\r\n", b"foo noreply\r\n", b"\r\n", b"\n", b"   \r\n", b"GET a\r\n", b"Set a 0 0 1\r\n",
    b"STATS\r\n", b"get\ta\r\n", b"gets\r\n", b"get\r\n", b"get \r\n", b"get  \r\n", b"gat\r\n",
    b"incr\r\n", b"incr k\r\n", b"decr k\r\n", b"touch\r\n", b"touch k\r\n", b"delete\r\n",
    b"set\r\n", b"set k 0 0\r\n", b"flush_all 0 0 0\r\n",
])
def test_unknown_or_malformed_command_is_error(mc, line):
    assert mc.call(line) == b"ERROR\r\n"
    assert_quiet(mc)


def test_line_terminators_and_spacing(mc):
    # A bare \n ends a command line; the data block still needs its exact \r\n.
    assert mc.call(b"set y 0 0 1\nz\r\n") == b"STORED\r\n"
    expected = value_block(b"y", b"z") + b"END\r\n"
    for line in (b"get y\n", b"get y\r\n", b"get y \r\n", b"get  y\r\n", b"  get y\r\n",
                 b"get y  \r\n"):
        mc.send(line)
        assert read_retrieval(mc) == expected, line


# --- storage commands ----------------------------------------------------------------------

def test_set_add_replace(mc):
    assert store(mc, b"a", b"x", flags=5, cmd=b"add") == b"STORED\r\n"
    assert store(mc, b"a", b"y", cmd=b"add") == b"NOT_STORED\r\n"
    assert store(mc, b"b", b"y", cmd=b"replace") == b"NOT_STORED\r\n"
    assert get(mc, b"a", b"b") == value_block(b"a", b"x", 5) + b"END\r\n"
    assert store(mc, b"a", b"zz", flags=7, cmd=b"replace") == b"STORED\r\n"
    assert get(mc, b"a") == value_block(b"a", b"zz", 7) + b"END\r\n"
    assert store(mc, b"a", b"new", flags=4294967295) == b"STORED\r\n"
    assert get(mc, b"a") == value_block(b"a", b"new", 4294967295) + b"END\r\n"


def test_set_accepts_sloppy_but_numeric_arguments(mc):
    # Leading zeros, '+' sign, extra spaces, trailing space, and any 6th token that is not
    # "noreply" are accepted.
    for line in (b"set x 0 0 01\r\n", b"set x +5 0 +1\r\n", b"set x 0 0  1\r\n", b"set x 0 0 1 \r\n",
                 b"set x 0 0 1 garbage\r\n", b"set x 0 0 1 NOREPLY\r\n"):
        assert mc.call(line + b"v\r\n") == b"STORED\r\n", line
    assert get(mc, b"x") == value_block(b"x", b"v") + b"END\r\n"


def test_append_prepend_keep_flags_and_missing_key(mc):
    assert store(mc, b"a", b"z", flags=7) == b"STORED\r\n"
    assert store(mc, b"a", b"AB", flags=9, cmd=b"append") == b"STORED\r\n"
    assert store(mc, b"a", b"CD", flags=9, cmd=b"prepend") == b"STORED\r\n"
    assert get(mc, b"a") == value_block(b"a", b"CDzAB", 7) + b"END\r\n"
    assert store(mc, b"nx", b"x", cmd=b"append") == b"NOT_STORED\r\n"
    assert store(mc, b"nx", b"x", cmd=b"prepend") == b"NOT_STORED\r\n"
    assert get(mc, b"nx") == b"END\r\n"


def test_append_prepend_ignore_their_exptime(mc):
    # The exptime given to append/prepend is ignored: -1 would otherwise expire the item.
    assert store(mc, b"a", b"x", flags=3) == b"STORED\r\n"
    assert store(mc, b"a", b"y", flags=5, exptime=-1, cmd=b"append") == b"STORED\r\n"
    assert store(mc, b"a", b"w", flags=5, exptime=-1, cmd=b"prepend") == b"STORED\r\n"
    assert get(mc, b"a") == value_block(b"a", b"wxy", 3) + b"END\r\n"


def test_cas(mc):
    assert store(mc, b"a", b"x") == b"STORED\r\n"
    cas = gets_cas(mc, b"a")
    assert mc.call(b"cas a 0 0 1 %d\r\nq\r\n" % (cas + 1000)) == b"EXISTS\r\n"
    assert mc.call(b"cas a 0 0 1 0\r\nq\r\n") == b"EXISTS\r\n"
    assert mc.call(b"cas nx 0 0 1 1\r\nq\r\n") == b"NOT_FOUND\r\n"
    assert mc.call(b"cas a 3 0 1 %d\r\nq\r\n" % cas) == b"STORED\r\n"
    assert mc.call(b"cas a 0 0 1 %d\r\nr\r\n" % cas) == b"EXISTS\r\n"  # cas changed on store
    assert get(mc, b"a") == value_block(b"a", b"q", 3) + b"END\r\n"
    assert gets_cas(mc, b"a") > cas


def test_cas_unique_changes(mc):
    assert store(mc, b"n", b"5") == b"STORED\r\n"
    c1 = gets_cas(mc, b"n")
    assert mc.call(b"incr n 1\r\n") == b"6\r\n"
    c2 = gets_cas(mc, b"n")
    assert c2 > c1  # incr bumps cas
    assert mc.call(b"touch n 0\r\n") == b"TOUCHED\r\n"
    assert gets_cas(mc, b"n") == c2  # touch keeps cas
    mc.send(b"gats 0 n\r\n")
    assert read_retrieval(mc) == value_block(b"n", b"6", cas=c2) + b"END\r\n"
    assert store(mc, b"n", b"0", cmd=b"append") == b"STORED\r\n"
    c3 = gets_cas(mc, b"n")
    assert c3 > c2
    assert store(mc, b"n", b"1") == b"STORED\r\n"
    assert gets_cas(mc, b"n") > c3


@pytest.mark.parametrize("line,reply", [
    # Missing cas token: wrong token count -> ERROR, and the data line becomes a command.
    (b"cas a 0 0 1\r\nq\r\n", b"ERROR\r\nERROR\r\n"),
    (b"cas a 0 0 1 abc\r\nq\r\n", BAD_FORMAT + b"ERROR\r\n"),
    (b"cas a 0 0 1 -1\r\nq\r\n", BAD_FORMAT + b"ERROR\r\n"),
])
def test_cas_bad_token(mc, line, reply):
    assert store(mc, b"a", b"x") == b"STORED\r\n"
    mc.send(line)
    assert mc.read_exactly(len(reply)) == reply
    assert_quiet(mc)
    assert get(mc, b"a") == value_block(b"a", b"x") + b"END\r\n"


# --- retrieval -----------------------------------------------------------------------------

def test_get_many_keys_duplicates_and_misses(mc):
    for i in range(7):
        assert store(mc, b"k%d" % i, b"v%d" % i, flags=i) == b"STORED\r\n"
    keys = [b"k%d" % (i % 7) if i % 3 else b"miss%d" % i for i in range(100)]
    expected = b"".join(value_block(k, b"v" + k[1:], int(k[1:])) for k in keys
                        if k.startswith(b"k")) + b"END\r\n"
    assert get(mc, *keys) == expected  # request order, duplicates repeated, misses skipped
    mc.send(b"gets " + b" ".join(keys) + b"\r\n")
    reply = read_retrieval(mc)
    assert reply.count(b"VALUE ") == 66 and reply.endswith(b"END\r\n")
    assert get(mc, b"nothere") == b"END\r\n"


def test_get_noreply_is_just_a_key(mc):
    assert store(mc, b"noreply", b"n") == b"STORED\r\n"
    assert get(mc, b"a", b"noreply") == value_block(b"noreply", b"n") + b"END\r\n"


def test_gat_gats(mc):
    assert store(mc, b"a", b"x", flags=2) == b"STORED\r\n"
    cas = gets_cas(mc, b"a")
    mc.send(b"gat 100 a nx a\r\n")
    assert read_retrieval(mc) == (value_block(b"a", b"x", 2) * 2) + b"END\r\n"
    mc.send(b"gats 100 a nx\r\n")
    assert read_retrieval(mc) == value_block(b"a", b"x", 2, cas=cas) + b"END\r\n"
    assert mc.call(b"gat 10\r\n") == b"END\r\n"  # no keys: just END
    assert mc.call(b"gat 0 noreply\r\n") == b"END\r\n"  # "noreply" is a key here
    mc.send(b"gat +5 a\r\n")
    assert read_retrieval(mc) == value_block(b"a", b"x", 2) + b"END\r\n"


@pytest.mark.parametrize("line", [b"gat abc a\r\n", b"gat 5x a\r\n", b"gat 1.5 a\r\n",
                                  b"gats abc a\r\n", b"gat noreply a\r\n"])
def test_gat_invalid_exptime(mc, line):
    assert mc.call(line) == BAD_EXPTIME
    assert_quiet(mc)


def test_gat_negative_exptime_returns_then_expires(mc):
    for exptime in (b"-1", b"4294967295"):
        assert store(mc, b"a", b"x") == b"STORED\r\n"
        mc.send(b"gat " + exptime + b" a\r\n")
        assert read_retrieval(mc) == value_block(b"a", b"x") + b"END\r\n"
        assert get(mc, b"a") == b"END\r\n"


# --- delete --------------------------------------------------------------------------------

@pytest.mark.parametrize("line,reply", [
    (b"delete a\r\n", b"DELETED\r\n"),
    (b"delete a 0\r\n", b"DELETED\r\n"),  # legacy time argument, only 0 allowed
    (b"delete a \r\n", b"DELETED\r\n"),
    (b"delete a 1\r\n", DELETE_USAGE),
    (b"delete a 0 0\r\n", DELETE_USAGE),
    (b"delete a x\r\n", DELETE_USAGE),
])
def test_delete_forms(mc, line, reply):
    assert store(mc, b"a", b"x") == b"STORED\r\n"
    assert mc.call(line) == reply
    still_there = reply != b"DELETED\r\n"
    assert get(mc, b"a") == ((value_block(b"a", b"x") if still_there else b"") + b"END\r\n")


def test_delete_missing_and_noreply(mc):
    assert mc.call(b"delete a\r\n") == b"NOT_FOUND\r\n"
    assert store(mc, b"a", b"x") == b"STORED\r\n"
    assert store(mc, b"b", b"x") == b"STORED\r\n"
    mc.send(b"delete a noreply\r\ndelete b 0 noreply\r\ndelete nx noreply\r\ndelete a 1 noreply\r\n")
    assert_quiet(mc)
    assert get(mc, b"a", b"b") == b"END\r\n"


# --- incr / decr ---------------------------------------------------------------------------

def test_incr_decr_basic(mc):
    assert store(mc, b"n", b"10", flags=5, exptime=1000) == b"STORED\r\n"
    assert mc.call(b"incr n 1\r\n") == b"11\r\n"
    assert mc.call(b"decr n 100\r\n") == b"0\r\n"  # clamps at 0
    assert mc.call(b"decr n 1\r\n") == b"0\r\n"
    assert mc.call(b"incr n 18446744073709551615\r\n") == b"18446744073709551615\r\n"
    assert get(mc, b"n") == value_block(b"n", b"18446744073709551615", 5) + b"END\r\n"
    assert mc.call(b"incr n 1\r\n") == b"0\r\n"  # wraps modulo 2^64, no error
    # the stored value keeps its 20-byte length, padded with spaces
    assert get(mc, b"n") == value_block(b"n", b"0" + b" " * 19, 5) + b"END\r\n"
    assert mc.call(b"incr n 2\r\n") == b"2\r\n"
    assert mc.call(b"decr n 18446744073709551615\r\n") == b"0\r\n"
    assert mc.call(b"incr nx 1\r\n") == b"NOT_FOUND\r\n"
    assert mc.call(b"decr nx 1\r\n") == b"NOT_FOUND\r\n"


def test_incr_wraps_at_2_64(mc):
    assert store(mc, b"n", b"18446744073709551614") == b"STORED\r\n"
    assert mc.call(b"incr n 3\r\n") == b"1\r\n"
    assert get(mc, b"n") == value_block(b"n", b"1" + b" " * 19) + b"END\r\n"


def test_decr_shrinking_digits_pads_with_spaces(mc):
    assert store(mc, b"n", b"100") == b"STORED\r\n"
    assert mc.call(b"decr n 1\r\n") == b"99\r\n"
    assert get(mc, b"n") == value_block(b"n", b"99 ") + b"END\r\n"
    assert mc.call(b"incr n 1\r\n") == b"100\r\n"
    assert get(mc, b"n") == value_block(b"n", b"100") + b"END\r\n"


def test_incr_growing_digits_extends_value(mc):
    assert store(mc, b"n", b"5", flags=9) == b"STORED\r\n"
    assert mc.call(b"incr n 99999\r\n") == b"100004\r\n"
    assert get(mc, b"n") == value_block(b"n", b"100004", 9) + b"END\r\n"
    assert store(mc, b"n", b"9") == b"STORED\r\n"
    assert mc.call(b"incr n 1\r\n") == b"10\r\n"
    assert get(mc, b"n") == value_block(b"n", b"10") + b"END\r\n"


@pytest.mark.parametrize("value,reply,stored", [
    (b"00005", b"6", b"6    "),
    (b" 12", b"13", b"13 "),
    (b"12 ", b"13", b"13 "),
    (b"+12", b"13", b"13 "),
    (b"12\t", b"13", b"13 "),
    (b"12\r\n", b"13", b"13  "),
    (b"1 2 3", b"2", b"2    "),  # parsing stops at the first whitespace
    (b"-0", b"5", b"5 "),
    (b"9223372036854775808", b"9223372036854775813", b"9223372036854775813"),
])
def test_incr_on_unusual_numeric_values(mc, value, reply, stored):
    assert store(mc, b"n", value) == b"STORED\r\n"
    assert mc.call(b"incr n 5\r\n" if value in (b"-0", b"9223372036854775808") else
                   b"incr n 1\r\n") == reply + b"\r\n"
    assert get(mc, b"n") == value_block(b"n", stored) + b"END\r\n"


@pytest.mark.parametrize("value", [b"", b"abc", b"-1", b"12abc", b"1x2", b"18446744073709551616",
                                   b"184467440737095516150", b"x1"])
def test_incr_non_numeric_value(mc, value):
    assert store(mc, b"n", value) == b"STORED\r\n"
    assert mc.call(b"incr n 1\r\n") == NON_NUMERIC
    assert mc.call(b"decr n 1\r\n") == NON_NUMERIC
    assert get(mc, b"n") == value_block(b"n", value) + b"END\r\n"


@pytest.mark.parametrize("delta", [b"-1", b"abc", b"18446744073709551616", b"1.5", b"1x", b"-0x"])
def test_incr_invalid_delta(mc, delta):
    assert store(mc, b"n", b"7") == b"STORED\r\n"
    assert mc.call(b"incr n " + delta + b"\r\n") == BAD_DELTA
    assert mc.call(b"decr n " + delta + b"\r\n") == BAD_DELTA
    assert mc.call(b"incr nx " + delta + b"\r\n") == BAD_DELTA  # checked before the lookup
    assert get(mc, b"n") == value_block(b"n", b"7") + b"END\r\n"


def test_incr_delta_forms_and_arity(mc):
    assert store(mc, b"n", b"60") == b"STORED\r\n"
    assert mc.call(b"incr n 01\r\n") == b"61\r\n"
    assert mc.call(b"incr n +1\r\n") == b"62\r\n"
    assert mc.call(b"incr n  1\r\n") == b"63\r\n"
    assert mc.call(b"incr n -0\r\n") == b"63\r\n"
    assert mc.call(b"incr n 1 extra\r\n") == b"64\r\n"  # 4th token that is not noreply: ignored
    assert mc.call(b"incr n 1 2 3\r\n") == b"ERROR\r\n"
    assert mc.call(b"incr n \r\n") == b"ERROR\r\n"


def test_incr_on_expired_item(mc):
    assert store(mc, b"n", b"5", exptime=-1) == b"STORED\r\n"
    assert mc.call(b"incr n 1\r\n") == b"NOT_FOUND\r\n"


# --- touch ---------------------------------------------------------------------------------

def test_touch(mc):
    assert mc.call(b"touch a 10\r\n") == b"NOT_FOUND\r\n"
    assert store(mc, b"a", b"x") == b"STORED\r\n"
    assert mc.call(b"touch a 10\r\n") == b"TOUCHED\r\n"
    assert mc.call(b"touch a 5 extra\r\n") == b"TOUCHED\r\n"
    assert mc.call(b"touch a 5 6 7\r\n") == b"ERROR\r\n"
    assert mc.call(b"touch a abc\r\n") == BAD_EXPTIME
    assert mc.call(b"touch a 1.5\r\n") == BAD_EXPTIME
    assert mc.call(b"touch a 4294967296\r\n") == b"TOUCHED\r\n"  # int32 truncation -> 0
    assert get(mc, b"a") == value_block(b"a", b"x") + b"END\r\n"


@pytest.mark.parametrize("exptime", [b"-1", b"4294967295", b"2592001", b"99999999999"])
def test_touch_into_the_past_expires(mc, exptime):
    assert store(mc, b"a", b"x") == b"STORED\r\n"
    assert mc.call(b"touch a " + exptime + b"\r\n") == b"TOUCHED\r\n"
    assert get(mc, b"a") == b"END\r\n"


# --- flush_all -----------------------------------------------------------------------------

@pytest.mark.parametrize("line", [b"flush_all\r\n", b"flush_all 0\r\n", b"flush_all -1\r\n",
                                  b"flush_all 0 0\r\n", b"flush_all 4294967296\r\n",
                                  b"flush_all 4294967295\r\n", b"flush_all -99999999999\r\n"])
def test_flush_all_immediate(mc, line):
    assert store(mc, b"a", b"x") == b"STORED\r\n"
    assert mc.call(line) == b"OK\r\n"
    assert get(mc, b"a") == b"END\r\n"
    assert store(mc, b"b", b"y") == b"STORED\r\n"  # stored after the flush: survives
    assert get(mc, b"a", b"b") == value_block(b"b", b"y") + b"END\r\n"


@pytest.mark.parametrize("line", [b"flush_all 2592001\r\n", b"flush_all 99999999999\r\n"])
def test_flush_all_with_absolute_time_in_the_past_does_nothing(mc, line):
    # realtime() maps a past absolute time to 1, so oldest_live becomes 0 = "no flush pending"
    # (99999999999 truncates to int32 1215752191, an absolute time in 2008).
    assert store(mc, b"a", b"x") == b"STORED\r\n"
    assert mc.call(line) == b"OK\r\n"
    assert get(mc, b"a") == value_block(b"a", b"x") + b"END\r\n"


def test_flush_all_noreply_and_errors(mc):
    assert store(mc, b"a", b"x") == b"STORED\r\n"
    mc.send(b"flush_all noreply\r\n")
    assert_quiet(mc)
    assert get(mc, b"a") == b"END\r\n"
    assert store(mc, b"a", b"x") == b"STORED\r\n"
    mc.send(b"flush_all 0 noreply\r\n")
    assert_quiet(mc)
    assert get(mc, b"a") == b"END\r\n"
    assert mc.call(b"flush_all abc\r\n") == BAD_EXPTIME
    assert mc.call(b"flush_all noreply extra\r\n") == BAD_EXPTIME
    mc.send(b"flush_all abc noreply\r\n")
    assert_quiet(mc)


def test_flush_all_with_delay_keeps_items_for_now(mc):
    c = mc
    assert store(c, b"a", b"x") == b"STORED\r\n"
    assert c.call(b"flush_all 10\r\n") == b"OK\r\n"
    assert store(c, b"b", b"y") == b"STORED\r\n"
    assert get(c, b"a", b"b") == value_block(b"a", b"x") + value_block(b"b", b"y") + b"END\r\n"
    c.send(b"flush_all 5 noreply\r\n")
    assert_quiet(c)
    assert get(c, b"a") == value_block(b"a", b"x") + b"END\r\n"


def test_flush_all_with_delay_expiry(shared, mc):
    c, server = mc, shared
    assert store(c, b"a", b"x") == b"STORED\r\n"
    assert c.call(b"flush_all 10\r\n") == b"OK\r\n"
    assert store(c, b"b", b"y") == b"STORED\r\n"  # before the flush point: also invalidated
    debugtime(server, 5)
    assert get(c, b"a", b"b") == value_block(b"a", b"x") + value_block(b"b", b"y") + b"END\r\n"
    debugtime(server, 6)
    assert get(c, b"a", b"b") == b"END\r\n"
    assert store(c, b"c", b"z") == b"STORED\r\n"  # after the flush point: survives
    debugtime(server, 100)
    assert get(c, b"c") == value_block(b"c", b"z") + b"END\r\n"


# --- noreply -------------------------------------------------------------------------------

def test_noreply_on_every_command(mc):
    assert store(mc, b"a", b"x") == b"STORED\r\n"
    cas = gets_cas(mc, b"a")
    mc.send(storage(b"set", b"s", b"1", extra=b"noreply")
            + storage(b"add", b"s", b"2", extra=b"noreply")      # NOT_STORED suppressed
            + storage(b"add", b"t", b"2", extra=b"noreply")
            + storage(b"replace", b"nx", b"y", extra=b"noreply")
            + storage(b"replace", b"t", b"3", extra=b"noreply")
            + storage(b"append", b"a", b"A", extra=b"noreply")
            + storage(b"prepend", b"a", b"P", extra=b"noreply")
            + b"cas a 0 0 1 %d noreply\r\nz\r\n" % (cas + 999)  # EXISTS suppressed
            + b"cas nx 0 0 1 1 noreply\r\nz\r\n"                # NOT_FOUND suppressed
            + b"incr s 5 noreply\r\ndecr s 1 noreply\r\nincr nx 1 noreply\r\n"
            + b"touch t 100 noreply\r\ntouch nx 1 noreply\r\n"
            + b"delete nx noreply\r\n"
            + b"verbosity 0 noreply\r\n")
    assert_quiet(mc)
    assert get(mc, b"s", b"t", b"a") == (value_block(b"s", b"5") + value_block(b"t", b"3")
                                         + value_block(b"a", b"PxA") + b"END\r\n")
    mc.send(b"cas a 0 0 1 %d noreply\r\nz\r\n" % gets_cas(mc, b"a"))
    assert_quiet(mc)
    assert get(mc, b"a") == value_block(b"a", b"z") + b"END\r\n"
    mc.send(b"flush_all noreply\r\n")
    assert_quiet(mc)
    assert get(mc, b"s") == b"END\r\n"


def test_noreply_suppresses_error_replies_too(mc):
    assert store(mc, b"a", b"x") == b"STORED\r\n"
    mc.send(b"set a 0 0 -1 noreply\r\n"            # CLIENT_ERROR bad command line format
            b"set a 0 0 abc noreply\r\n"
            b"incr a 1 noreply\r\n"                  # CLIENT_ERROR non-numeric
            b"incr a abc noreply\r\n"                # CLIENT_ERROR invalid delta
            b"incr a noreply\r\n"                    # "noreply" parsed as the (bad) delta
            b"touch a abc noreply\r\n"               # CLIENT_ERROR invalid exptime
            b"touch a noreply\r\n"
            b"delete a 1 noreply\r\n")               # delete usage error
    assert_quiet(mc)
    assert get(mc, b"a") == value_block(b"a", b"x") + b"END\r\n"


def test_noreply_bad_data_chunk_then_rest_of_line_is_a_command(mc):
    assert store(mc, b"a", b"x") == b"STORED\r\n"
    # 1 byte declared, "xyz\r\n" sent: "xyz" is consumed as data+terminator (bad chunk, silent);
    # the remaining "\r\n" is an empty command line -> ERROR (not suppressed).
    mc.send(b"set a 0 0 1 noreply\r\nxyz\r\n")
    assert mc.read_line() == b"ERROR\r\n"
    assert_quiet(mc)
    assert get(mc, b"a") == value_block(b"a", b"x") + b"END\r\n"


def test_commands_without_noreply_support(mc):
    assert mc.call(b"stats reset noreply\r\n") == b"RESET\r\n"
    assert mc.call(b"stats noreply\r\n") == b"ERROR\r\n"  # unknown stats group
    assert mc.call(b"foo noreply\r\n") == b"ERROR\r\n"


# --- pipelining and binary safety ----------------------------------------------------------

def test_pipelined_mixed_commands(mc):
    req = (storage(b"set", b"p1", b"one", flags=1)
           + b"get p1\r\n"
           + storage(b"add", b"p1", b"dup")
           + storage(b"append", b"p1", b"+")
           + b"incr p1 1\r\n"
           + storage(b"set", b"p2", b"41")
           + b"incr p2 1\r\n"
           + b"gets_nope\r\n"
           + b"delete p1\r\n"
           + b"get p1 p2\r\n"
           + b"touch p2 0\r\n"
           + b"version\r\n")
    expected = (b"STORED\r\n"
                + value_block(b"p1", b"one", 1) + b"END\r\n"
                + b"NOT_STORED\r\nSTORED\r\n"
                + NON_NUMERIC
                + b"STORED\r\n42\r\n"
                + b"ERROR\r\n"
                + b"DELETED\r\n"
                + value_block(b"p2", b"42") + b"END\r\n"
                + b"TOUCHED\r\n"
                + VERSION_LINE)
    mc.send(req)
    assert mc.read_exactly(len(expected)) == expected
    assert_quiet(mc)


def test_pipelined_many_commands(mc):
    n = 1000
    mc.send(b"".join(storage(b"set", b"key%d" % i, b"val%d" % i) for i in range(n)))
    assert mc.read_exactly(8 * n) == b"STORED\r\n" * n
    mc.send(b"".join(b"get key%d\r\n" % i for i in range(n)))
    expected = b"".join(value_block(b"key%d" % i, b"val%d" % i) + b"END\r\n" for i in range(n))
    assert mc.read_exactly(len(expected)) == expected
    assert_quiet(mc)


def test_binary_safe_values(mc):
    values = [bytes(range(256)), b"a\x00b", b"\r\n", b"x\r\nEND\r\nVALUE y 0 1\r\n",
              b"\n" * 10, b"\r" * 7, b"set k 0 0 1\r\n"]
    for i, v in enumerate(values):
        assert store(mc, b"bin%d" % i, v) == b"STORED\r\n"
    keys = [b"bin%d" % i for i in range(len(values))]
    assert get(mc, *keys) == b"".join(value_block(k, v) for k, v in zip(keys, values)) + b"END\r\n"


def test_zero_length_values(mc):
    assert mc.call(b"set e 0 0 0\r\n\r\n") == b"STORED\r\n"
    assert get(mc, b"e") == b"VALUE e 0 0\r\n\r\nEND\r\n"
    assert mc.call(b"append e 0 0 0\r\n\r\n") == b"STORED\r\n"
    assert mc.call(b"append e 0 0 2\r\nab\r\n") == b"STORED\r\n"
    assert get(mc, b"e") == b"VALUE e 0 2\r\nab\r\nEND\r\n"


def test_non_ascii_key_bytes_are_fine(mc):
    key = b"\xc3\xa9t\xc3\xa9\xff\x80"
    assert store(mc, key, b"v") == b"STORED\r\n"
    assert get(mc, key) == value_block(key, b"v") + b"END\r\n"


def test_data_block_split_across_sends(mc):
    mc.send(b"set x 0 0 5\r\n")
    mc.send(b"he")
    mc.send(b"llo")
    mc.send(b"\r")
    assert mc.call(b"\n") == b"STORED\r\n"
    assert get(mc, b"x") == value_block(b"x", b"hello") + b"END\r\n"


# --- stats ---------------------------------------------------------------------------------

STATS_KEYS = """
pid uptime time version libevent pointer_size rusage_user rusage_system max_connections
curr_connections total_connections rejected_connections connection_structures response_obj_oom
response_obj_count response_obj_bytes read_buf_count read_buf_bytes read_buf_bytes_free
read_buf_oom reserved_fds cmd_get cmd_set cmd_flush cmd_touch cmd_meta get_hits get_misses
get_expired get_flushed delete_misses delete_hits incr_misses incr_hits decr_misses decr_hits
cas_misses cas_hits cas_badval touch_hits touch_misses store_too_large store_no_memory auth_cmds
auth_errors bytes_read bytes_written limit_maxbytes accepting_conns listen_disabled_num
time_in_listen_disabled_us threads conn_yields hash_power_level hash_bytes hash_is_expanding
slab_reassign_rescues slab_reassign_chunk_rescues slab_reassign_evictions_nomem
slab_reassign_inline_reclaim slab_reassign_busy_items slab_reassign_busy_deletes
slab_reassign_running slabs_moved lru_crawler_running lru_crawler_starts lru_maintainer_juggles
malloc_fails log_worker_dropped log_worker_written log_watcher_skipped log_watcher_sent
log_watchers unexpected_napi_ids round_robin_fallback bytes curr_items total_items
slab_global_page_pool expired_unfetched evicted_unfetched evicted_active evictions reclaimed
crawler_reclaimed crawler_items_checked lrutail_reflocked moves_to_cold moves_to_warm
moves_within_lru direct_reclaims lru_bumps_dropped
""".split()


def test_stats_keys_in_order_and_item_counts(server):
    c = Conn(server)
    c.send(b"stats\r\n")
    raw = c.read_until(b"END\r\n")
    lines = raw.split(b"\r\n")
    assert lines[-2:] == [b"END", b""]
    assert all(line.startswith(b"STAT ") and line.count(b" ") == 2 for line in lines[:-2])
    st = stats(c)
    assert len(STATS_KEYS) == 92
    assert list(st) == STATS_KEYS
    for k, v in st.items():
        if k == "version":
            assert v == "1.6.18"
        elif k == "libevent":
            assert v and " " not in v
        elif k.startswith("rusage_"):
            assert RUSAGE_RE.match(v), (k, v)
        else:
            assert INT_RE.match(v), (k, v)
    assert st["pointer_size"] == "64"
    assert st["max_connections"] == "1024"
    assert st["limit_maxbytes"] == str(64 * 1024 * 1024)
    assert st["accepting_conns"] == "1"
    assert (st["curr_items"], st["total_items"], st["bytes"]) == ("0", "0", "0")
    others = [Conn(server) for _ in range(3)]
    for o in others:
        assert_quiet(o)  # the server has accepted them
    st2 = stats(c)
    assert int(st2["curr_connections"]) - int(st["curr_connections"]) == 3
    assert int(st2["total_connections"]) - int(st["total_connections"]) == 3
    assert int(st2["uptime"]) >= 0 and int(st2["time"]) > 1600000000
    for o in others:
        o.close()
    assert store(c, b"a", b"x" * 100) == b"STORED\r\n"
    assert store(c, b"b", b"y") == b"STORED\r\n"
    assert store(c, b"b", b"z") == b"STORED\r\n"
    st = stats(c)
    assert (st["curr_items"], st["total_items"]) == ("2", "3")
    assert int(st["bytes"]) > 101
    assert c.call(b"delete a\r\n") == b"DELETED\r\n"
    st = stats(c)
    assert (st["curr_items"], st["total_items"]) == ("1", "3")
    assert 1 < int(st["bytes"]) < 100
    assert c.call(b"stats reset\r\n") == b"RESET\r\n"
    after = stats(c)
    assert (after["curr_items"], after["total_items"]) == ("1", "0")  # gauges survive a reset
    assert after["bytes"] == st["bytes"]
    assert list(after) == STATS_KEYS
    c.close()


def _delta(before, after):
    return {k: int(after[k]) - int(before[k]) for k in after
            if INT_RE.match(after[k]) and after[k] != before[k]}


COUNTERS = ("cmd_get cmd_set cmd_touch cmd_flush get_hits get_misses delete_hits delete_misses "
            "incr_hits incr_misses decr_hits decr_misses cas_hits cas_misses cas_badval "
            "touch_hits touch_misses total_items").split()


@pytest.mark.parametrize("line,moves", [
    (storage(b"set", b"a", b"1"), dict(cmd_set=1, total_items=1)),  # overwrite: same curr_items
    (storage(b"set", b"n", b"1"), dict(cmd_set=1, total_items=1, curr_items=1)),
    (b"get a b a\r\n", dict(cmd_get=3, get_hits=2, get_misses=1)),
    (b"gets a\r\n", dict(cmd_get=1, get_hits=1)),
    (b"gat 0 a b\r\n", dict(cmd_touch=2, touch_hits=1, touch_misses=1)),  # not cmd_get
    (b"gats 0 a\r\n", dict(cmd_touch=1, touch_hits=1)),
    (b"touch a 0\r\ntouch b 0\r\n", dict(cmd_touch=2, touch_hits=1, touch_misses=1)),
    (storage(b"add", b"a", b"1"), dict(cmd_set=1)),
    (storage(b"replace", b"b", b"1"), dict(cmd_set=1)),
    (storage(b"append", b"a", b"1"), dict(cmd_set=1, total_items=1)),
    (storage(b"prepend", b"b", b"1"), dict(cmd_set=1)),
    (b"cas b 0 0 1 1\r\nx\r\n", dict(cmd_set=1, cas_misses=1)),
    (b"cas a 0 0 1 999999\r\nx\r\n", dict(cmd_set=1, cas_badval=1)),
    (b"delete a\r\ndelete a\r\n", dict(delete_hits=1, delete_misses=1, curr_items=-1)),
    (b"incr a 1\r\nincr b 1\r\n", dict(incr_hits=1, incr_misses=1)),
    (b"decr a 1\r\ndecr b 1\r\n", dict(decr_hits=1, decr_misses=1)),
    (b"incr a abc\r\nset x 0 0 1\r\nx\r\nincr x 1\r\n", dict(cmd_set=1, total_items=1,
                                                            curr_items=1)),  # errors: no count
    (b"set x 0 0 1\r\nabc\r\n", dict(cmd_set=1)),  # a bad data chunk still counts as a set
    (b"flush_all\r\n", dict(cmd_flush=1)),
])
def test_stats_counters_move(mc, line, moves):
    assert store(mc, b"a", b"1") == b"STORED\r\n"
    before = stats(mc)
    mc.send(line + b"version\r\n")
    mc.read_until(VERSION_LINE)
    after = stats(mc)
    d = _delta(before, after)
    # curr_items is not checked here: on this shared server, items flushed by earlier tests are
    # reclaimed asynchronously by memcached; see test_stats_keys_in_order_and_item_counts.
    moves.pop("curr_items", None)
    assert {k: d.get(k, 0) for k in COUNTERS} == {k: moves.get(k, 0) for k in COUNTERS}


# Without the crawler and memcached's LRU maintainer, which drop flushed items in the background.
NO_BACKGROUND_RECLAIM = ("-o", "no_lru_crawler,no_lru_maintainer")


def test_get_flushed_counts_each_flushed_item_met(server_factory):
    """Every lookup that meets an item hidden by flush_all counts once in get_flushed (the item
    is dropped then), whatever the command: reads, writes, touch, arithmetic, meta."""
    mc = Conn(server_factory(*NO_BACKGROUND_RECLAIM))
    # memcached's allocation reclaims flushed items at the tail of its class: the writes
    # allocate in another class than the flushed items'.
    BIG = b"2" * 3000
    lines = [b"get gf0\r\n", b"gets gf1\r\n", b"gat 0 gf2\r\n", b"touch gf3 0\r\n",
             b"incr gf4 1\r\n", b"delete gf5\r\n", storage(b"set", b"gf6", BIG),
             storage(b"replace", b"gf7", BIG), b"mg gf8 v\r\n", b"md gf9\r\n", b"ma gf10\r\n",
             b"get gf0 gf0\r\n"]  # met already: not counted again
    for i in range(11):
        assert store(mc, b"gf%d" % i, b"1") == b"STORED\r\n"
    assert mc.call(b"flush_all\r\n") == b"OK\r\n"
    before = stats(mc)
    mc.send(b"".join(lines) + b"version\r\n")
    mc.read_until(VERSION_LINE)
    d = _delta(before, stats(mc))
    assert d.get("get_flushed", 0) == 11
    assert d.get("get_expired", 0) == 0  # a flushed item is not an expired one
    assert mc.call(b"get gf6\r\n", b"END\r\n") == b"VALUE gf6 0 3000\r\n" + BIG + b"\r\nEND\r\n"
    mc.close()


def test_stats_reset(mc):
    c = mc
    assert c.call(b"stats reset\r\n") == b"RESET\r\n"
    c.send(storage(b"set", b"a", b"1") + b"get a b\r\nincr a 1\r\ndecr b 1\r\ndelete b\r\n"
           b"touch a 0\r\ncas b 0 0 1 1\r\nx\r\ndelete a\r\n" + storage(b"set", b"c", b"1")
           + b"flush_all 0\r\nversion\r\n")
    c.read_until(VERSION_LINE)
    before = stats(c)
    assert (before["cmd_get"], before["total_items"], before["cmd_flush"]) == ("2", "2", "1")
    assert c.call(b"stats reset\r\n") == b"RESET\r\n"
    assert c.call(b"stats reset extra\r\n") == b"RESET\r\n"
    after = stats(c)
    for k in COUNTERS + ["total_connections", "rejected_connections", "evictions"]:
        assert after[k] == "0", k


@pytest.mark.parametrize("line", [b"stats nonexistent_group\r\n", b"stats noreply\r\n",
                                  b"stats foo bar\r\n"])
def test_stats_unknown_group(mc, line):
    assert mc.call(line) == b"ERROR\r\n"
    assert_quiet(mc)


# --- expiry (clock moved with debugtime; the parts before the clock jump run everywhere) ----

def test_expiry_exptime_1(shared, mc):
    c, server = mc, shared
    assert store(c, b"a", b"x", exptime=1) == b"STORED\r\n"
    assert store(c, b"z", b"x", exptime=0) == b"STORED\r\n"
    assert get(c, b"a") == value_block(b"a", b"x") + b"END\r\n"
    debugtime(server, 2)
    assert get(c, b"a") == b"END\r\n"
    assert c.call(b"touch a 100\r\n") == b"NOT_FOUND\r\n"
    debugtime(server, 100000)
    assert get(c, b"z") == value_block(b"z", b"x") + b"END\r\n"  # exptime 0 never expires


def test_touch_extends_ttl(shared, mc):
    c, server = mc, shared
    assert store(c, b"a", b"x", exptime=5) == b"STORED\r\n"
    assert c.call(b"touch a 100\r\n") == b"TOUCHED\r\n"
    debugtime(server, 10)
    assert get(c, b"a") == value_block(b"a", b"x") + b"END\r\n"
    debugtime(server, 100)
    assert get(c, b"a") == b"END\r\n"


def test_touch_zero_removes_ttl(shared, mc):
    c, server = mc, shared
    assert store(c, b"a", b"x", exptime=5) == b"STORED\r\n"
    assert c.call(b"touch a 0\r\n") == b"TOUCHED\r\n"
    debugtime(server, 100)
    assert get(c, b"a") == value_block(b"a", b"x") + b"END\r\n"


def test_gat_changes_ttl(shared, mc):
    c, server = mc, shared
    assert store(c, b"long", b"x", exptime=5) == b"STORED\r\n"
    assert store(c, b"short", b"y", exptime=100) == b"STORED\r\n"
    c.send(b"gat 100 long\r\n")
    assert read_retrieval(c) == value_block(b"long", b"x") + b"END\r\n"
    c.send(b"gats 2 short\r\n")
    assert read_retrieval(c).startswith(b"VALUE short 0 1 ")
    debugtime(server, 10)
    assert get(c, b"long", b"short") == value_block(b"long", b"x") + b"END\r\n"


def test_absolute_exptime(shared, mc):
    c, server = mc, shared
    now = int(stats(c)["time"])
    assert store(c, b"abs", b"x", exptime=now + 10) == b"STORED\r\n"
    assert store(c, b"past", b"x", exptime=now - 5) == b"STORED\r\n"
    assert store(c, b"rel", b"x", exptime=2592000) == b"STORED\r\n"  # 30 days: still relative
    assert store(c, b"old", b"x", exptime=2592001) == b"STORED\r\n"  # absolute 1970: expired
    assert get(c, b"abs", b"past", b"rel", b"old") == (value_block(b"abs", b"x")
                                                       + value_block(b"rel", b"x") + b"END\r\n")
    debugtime(server, 11)
    assert get(c, b"abs", b"rel") == value_block(b"rel", b"x") + b"END\r\n"
    debugtime(server, 2592000)
    assert get(c, b"rel") == b"END\r\n"


def test_later_flush_all_replaces_pending_delayed_flush(shared, mc):
    c, server = mc, shared
    assert store(c, b"a", b"x") == b"STORED\r\n"
    assert c.call(b"flush_all 10\r\n") == b"OK\r\n"
    assert c.call(b"flush_all 100\r\n") == b"OK\r\n"  # one flush point: now+100
    debugtime(server, 11)
    assert get(c, b"a") == value_block(b"a", b"x") + b"END\r\n"
    debugtime(server, 90)
    assert get(c, b"a") == b"END\r\n"


def test_flush_all_with_past_absolute_time_cancels_pending_flush(shared, mc):
    c, server = mc, shared
    assert store(c, b"a", b"x") == b"STORED\r\n"
    assert c.call(b"flush_all 10\r\n") == b"OK\r\n"
    assert c.call(b"flush_all 2592001\r\n") == b"OK\r\n"
    assert get(c, b"a") == value_block(b"a", b"x") + b"END\r\n"
    debugtime(server, 20)
    assert get(c, b"a") == value_block(b"a", b"x") + b"END\r\n"


def test_mutations_keep_ttl(shared, mc):
    c, server = mc, shared
    for k in (b"ap", b"pre", b"num"):
        assert store(c, k, b"1", exptime=10) == b"STORED\r\n"
    assert store(c, b"ap", b"2", exptime=0, cmd=b"append") == b"STORED\r\n"
    assert store(c, b"pre", b"2", exptime=0, cmd=b"prepend") == b"STORED\r\n"
    assert c.call(b"incr num 99\r\n") == b"100\r\n"  # grows: a new item, same TTL and flags
    debugtime(server, 5)
    assert get(c, b"ap", b"pre", b"num") == (value_block(b"ap", b"12") + value_block(b"pre", b"21")
                                             + value_block(b"num", b"100") + b"END\r\n")
    debugtime(server, 6)
    assert get(c, b"ap", b"pre", b"num") == b"END\r\n"


def test_shutdown_is_refused_without_A(mc):
    assert mc.call(b"shutdown\r\n") == b"ERROR: shutdown not enabled\r\n"
    assert mc.call(b"shutdown graceful\r\n") == b"ERROR: shutdown not enabled\r\n"
    assert mc.call(b"version\r\n") == VERSION_LINE
