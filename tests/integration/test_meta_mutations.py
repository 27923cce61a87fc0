"""Byte-exact ms / md / ma behaviour of memcached 1.6.18 that cachet must reproduce.

Probed against Debian's /usr/bin/memcached 1.6.18; see docs/design/memcached-meta-behaviour.md.
Helpers and shared reply constants come from test_meta_protocol.py (same conventions: CAS values
are read back, never hard-coded; TTLs read in a later command allow one clock tick).
"""
import re

import pytest

from conftest import debugtime
from test_meta_protocol import (BAD_DELTA_VALUE, BAD_INITIAL_VALUE, BAD_TOKEN, DECODE_ERROR,
                                DUPLICATE_FLAG, INVALID_FLAG, INVALID_OR_DUPLICATE,
                                M_TOKEN_LENGTH, MA_BAD_MODE, MS_BAD_MODE, OPAQUE_31, OPAQUE_32,
                                OPAQUE_TOO_LONG, assert_match, b64,
                                cas_of, meta, ms, ms_cmd, ttl)
from text_helpers import BAD_CHUNK, BAD_FORMAT, NON_NUMERIC, TOO_LARGE, assert_quiet

MAX_VALUE_1B_KEY = 1048516  # largest value for a 1-byte key, flags 0, default -I 1m


# --- ms ------------------------------------------------------------------------------------

def test_ms_set(mc):
    assert ms(mc, b"a", b"hi") == b"HD\r\n"
    assert meta(mc, b"mg a v f t") == b"VA 2 f0 t-1\r\nhi\r\n"
    assert ms(mc, b"a", b"bye") == b"HD\r\n"  # overwrite
    assert meta(mc, b"mg a v") == b"VA 3\r\nbye\r\n"
    assert ms(mc, b"a", b"") == b"HD\r\n"
    assert meta(mc, b"mg a v") == b"VA 0\r\n\r\n"
    mc.send(b"ms b 2 \r\nhi\r\n")  # trailing space
    assert mc.read_line() == b"HD\r\n"
    assert mc.call(b"get b\r\n", b"END\r\n") == b"VALUE b 0 2\r\nhi\r\nEND\r\n"


def test_ms_value_with_protocol_text(mc):
    value = b"HD\r\nms x 1\r\ny\r\n"
    assert ms(mc, b"a", value) == b"HD\r\n"
    assert meta(mc, b"mg a v") == b"VA %d\r\n" % len(value) + value + b"\r\n"
    assert_quiet(mc)


def test_ms_client_flags_and_ttl(mc):
    assert ms(mc, b"a", b"hi", b"F123 T100") == b"HD\r\n"
    assert_match(rb"VA 2 f123 t%s\r\nhi\r\n" % ttl(100), meta(mc, b"mg a f t v"))
    assert mc.call(b"get a\r\n", b"END\r\n") == b"VALUE a 123 2\r\nhi\r\nEND\r\n"
    assert ms(mc, b"a", b"hi", b"F4294967295 T0") == b"HD\r\n"
    assert meta(mc, b"mg a f t") == b"HD f4294967295 t-1\r\n"
    assert ms(mc, b"a", b"hi", b"F+5") == b"HD\r\n"
    assert meta(mc, b"mg a f") == b"HD f5\r\n"
    assert ms(mc, b"a", b"hi", b"T-1") == b"HD\r\n"  # stored already expired
    assert meta(mc, b"mg a") == b"EN\r\n"
    assert ms(mc, b"a", b"hi", b"T2592001") == b"HD\r\n"  # absolute time in the past
    assert meta(mc, b"mg a") == b"EN\r\n"


def test_ms_return_flags_in_request_order(mc):
    reply = ms(mc, b"a", b"hi", b"F123 T100 k O9 c")
    cas = assert_match(rb"HD ka O9 c(\d+)\r\n", reply).group(1)
    assert meta(mc, b"mg a c") == b"HD c" + cas + b"\r\n"
    reply = ms(mc, b"a", b"hi", b"c O9 k")
    new = assert_match(rb"HD c(\d+) O9 ka\r\n", reply).group(1)
    assert new != cas
    assert ms(mc, b"a", b"hi", b"O") == b"HD O\r\n"
    assert ms(mc, b"a", b"hi", OPAQUE_31) == b"HD " + OPAQUE_31 + b"\r\n"


def test_ms_accepts_and_ignores_other_commands_flags(mc):
    assert ms(mc, b"a", b"x", b"v s t f h l u") == b"HD\r\n"
    assert ms(mc, b"a", b"x", b"N30 R30 J1 D1 P L") == b"HD\r\n"
    assert meta(mc, b"mg a t v") == b"VA 1 t-1\r\nx\r\n"


def test_ms_compare_and_swap(mc):
    assert ms(mc, b"a", b"x") == b"HD\r\n"
    cas = cas_of(mc, b"a")
    assert ms(mc, b"a", b"y", b"C%d c" % (cas + 1)) == b"EX c0\r\n"
    assert ms(mc, b"a", b"y", b"C%d" % (cas + 1)) == b"EX\r\n"
    assert ms(mc, b"a", b"y", b"C0") == b"EX\r\n"
    assert meta(mc, b"mg a v") == b"VA 1\r\nx\r\n"
    new = assert_match(rb"HD c(\d+)\r\n", ms(mc, b"a", b"y", b"C%d c" % cas)).group(1)
    assert int(new) != cas
    assert meta(mc, b"mg a v") == b"VA 1\r\ny\r\n"
    assert ms(mc, b"a", b"z", b"C%d" % cas) == b"EX\r\n"  # the old CAS is used up
    assert ms(mc, b"nothere", b"z", b"C5 k O2 c") == b"NF knothere O2 c0\r\n"
    assert ms(mc, b"nothere", b"z", b"C5 I") == b"NF\r\n"


def test_ms_invalidate_with_lower_cas_marks_stale(mc):
    assert ms(mc, b"a", b"x") == b"HD\r\n"
    cas = cas_of(mc, b"a")
    assert ms(mc, b"a", b"y", b"C%d I" % (cas + 1)) == b"EX\r\n"   # higher: refused
    reply = ms(mc, b"a", b"y", b"C%d I c" % (cas - 1))           # lower: stored, stale
    new = int(assert_match(rb"HD c(\d+)\r\n", reply).group(1))
    assert new != cas
    assert meta(mc, b"mg a v c") == b"VA 1 c%d X W\r\ny\r\n" % new
    assert meta(mc, b"mg a v c") == b"VA 1 c%d Z X\r\ny\r\n" % new
    assert ms(mc, b"b", b"x") == b"HD\r\n"
    cas = cas_of(mc, b"b")
    assert ms(mc, b"b", b"y", b"C%d I" % cas) == b"HD\r\n"          # equal: a normal cas
    assert meta(mc, b"mg b v") == b"VA 1\r\ny\r\n"
    assert ms(mc, b"b", b"z", b"I") == b"HD\r\n"                    # I without C: a set
    assert meta(mc, b"mg b v") == b"VA 1\r\nz\r\n"


def test_ms_invalidate_on_stale_item_keeps_ttl_and_token(mc):
    """A stale set (I, lower CAS) replaces the value but keeps the item's TTL, its stale mark and
    the win token already handed out: the next reader still sees Z, not a second W."""
    assert ms(mc, b"a", b"x", b"T60") == b"HD\r\n"
    assert meta(mc, b"md a I T30") == b"HD\r\n"
    reply = meta(mc, b"mg a s t c v")
    cas = int(assert_match(rb"VA 1 s1 t%s c(\d+) X W\r\nx\r\n" % ttl(30), reply).group(1))
    assert_match(rb"VA 1 s1 t%s c%d Z X\r\nx\r\n" % (ttl(30), cas), meta(mc, b"mg a s t c v"))
    assert ms(mc, b"a", b"y", b"T90 C0") == b"EX\r\n"                   # no I: a low CAS fails
    assert_match(rb"HD c%d Z X\r\n" % cas, meta(mc, b"mg a c"))
    assert ms(mc, b"a", b"z", b"I T90 C%d" % (cas - 1)) == b"HD\r\n"
    reply = meta(mc, b"mg a s t c v")
    new = int(assert_match(rb"VA 1 s1 t%s c(\d+) Z X\r\nz\r\n" % ttl(30), reply).group(1))
    assert new > cas
    assert ms(mc, b"b", b"x") == b"HD\r\n"  # token never handed out: the stale set leaves none
    assert meta(mc, b"md b I") == b"HD\r\n"
    assert ms(mc, b"b", b"y", b"I C1") == b"HD\r\n"
    assert meta(mc, b"mg b t v") == b"VA 1 t-1 X W\r\ny\r\n"
    assert_quiet(mc)


def test_ms_quiet_hides_only_hd(mc):
    assert ms(mc, b"a", b"x") == b"HD\r\n"
    mc.send(ms_cmd(b"a", b"1", b"q")
            + ms_cmd(b"a", b"2", b"q c k O1")      # HD with return flags: still hidden
            + ms_cmd(b"a", b"3", b"q ME")           # NS
            + ms_cmd(b"m", b"3", b"q MR k")         # NS
            + ms_cmd(b"a", b"4", b"q C1")           # EX
            + ms_cmd(b"m", b"4", b"q C1 O3")        # NF
            + b"ms a 1 q\r\nxy\r\n"              # bad data chunk: an error
            + b"mn\r\n")
    assert mc.read_until(b"MN\r\n") == (b"NS\r\nNS km\r\nEX\r\nNF O3\r\n" + BAD_CHUNK
                                        + b"ERROR\r\nMN\r\n")
    assert meta(mc, b"mg a v") == b"VA 1\r\n2\r\n"


def test_ms_modes(mc):
    assert ms(mc, b"a", b"a", b"ME") == b"HD\r\n"
    assert ms(mc, b"a", b"b", b"ME") == b"NS\r\n"
    assert ms(mc, b"a", b"c", b"MA") == b"HD\r\n"
    assert ms(mc, b"a", b"d", b"MP") == b"HD\r\n"
    assert meta(mc, b"mg a v") == b"VA 3\r\ndac\r\n"
    assert ms(mc, b"a", b"r", b"MR") == b"HD\r\n"
    assert meta(mc, b"mg a v") == b"VA 1\r\nr\r\n"
    assert ms(mc, b"a", b"s", b"MS") == b"HD\r\n"
    assert meta(mc, b"mg a v") == b"VA 1\r\ns\r\n"
    for mode in (b"MA", b"MP", b"MR"):
        assert ms(mc, b"m", b"x", mode) == b"NS\r\n"
    assert meta(mc, b"mg m") == b"EN\r\n"
    assert ms(mc, b"a", b"e", b"ME k O2 c") == b"NS ka O2 c0\r\n"
    assert ms(mc, b"m", b"e", b"MA k O2 c") == b"NS km O2 c0\r\n"


def test_ms_append_keeps_flags_and_ttl(mc):
    assert ms(mc, b"a", b"x", b"F7 T100") == b"HD\r\n"
    assert ms(mc, b"a", b"y", b"MA F9 T0") == b"HD\r\n"
    assert_match(rb"VA 2 f7 t%s\r\nxy\r\n" % ttl(100), meta(mc, b"mg a v f t"))


def test_ms_modes_with_cas(mc):
    assert ms(mc, b"a", b"a") == b"HD\r\n"
    cas = cas_of(mc, b"a")
    assert ms(mc, b"a", b"b", b"MA C%d c" % (cas + 1000)) == b"EX c0\r\n"
    assert ms(mc, b"a", b"b", b"MA C%d" % cas) == b"HD\r\n"
    cas = cas_of(mc, b"a")
    assert ms(mc, b"a", b"c", b"MP C%d" % cas) == b"HD\r\n"
    assert ms(mc, b"a", b"c", b"MP C%d" % cas) == b"EX\r\n"
    assert meta(mc, b"mg a v") == b"VA 3\r\ncab\r\n"
    cas = cas_of(mc, b"a")
    assert ms(mc, b"a", b"r", b"MR C%d" % (cas + 5)) == b"EX\r\n"
    assert ms(mc, b"a", b"r", b"MR C%d" % cas) == b"HD\r\n"
    cas = cas_of(mc, b"a")
    assert ms(mc, b"a", b"e", b"ME C%d" % cas) == b"NS\r\n"  # add ignores the CAS
    assert ms(mc, b"m", b"e", b"MR C5") == b"NF\r\n"   # replace + C behaves like cas
    assert ms(mc, b"m", b"e", b"MA C5") == b"NS\r\n"   # append + C on a miss: still NS
    assert ms(mc, b"m", b"e", b"ME C5") == b"HD\r\n"   # add + C on a miss: adds
    assert meta(mc, b"mg m v") == b"VA 1\r\ne\r\n"


def test_ms_modes_with_invalidate(mc):
    assert ms(mc, b"a", b"x") == b"HD\r\n"
    cas = cas_of(mc, b"a")
    assert ms(mc, b"a", b"z", b"MA C%d I" % (cas - 1)) == b"EX\r\n"  # I only in set/replace
    assert ms(mc, b"a", b"z", b"MR C%d I" % (cas - 1)) == b"HD\r\n"
    assert meta(mc, b"mg a v") == b"VA 1 X W\r\nz\r\n"


@pytest.mark.parametrize("flags,reply", [
    (b"MX", MS_BAD_MODE), (b"Ms", MS_BAD_MODE), (b"Me", MS_BAD_MODE), (b"M+", MS_BAD_MODE),
    (b"MSS", M_TOKEN_LENGTH), (b"M", M_TOKEN_LENGTH),
    (b"y", INVALID_FLAG), (b"S1", INVALID_FLAG), (b"E5", INVALID_FLAG),
    (b"c c", DUPLICATE_FLAG), (b"T1 T1", DUPLICATE_FLAG),
    (b"F-1", BAD_FORMAT), (b"Fx", BAD_FORMAT), (b"F", BAD_FORMAT),
    (b"T", BAD_TOKEN), (b"Tx", BAD_TOKEN), (b"C", BAD_TOKEN), (b"Cx", BAD_TOKEN),
    (b"C-1", BAD_TOKEN), (b"N1.5", BAD_TOKEN), (b"C18446744073709551616", BAD_TOKEN),
    (b"Dx", BAD_DELTA_VALUE), (b"Jx", BAD_INITIAL_VALUE), (b"Fx Tx", BAD_TOKEN),
    (OPAQUE_32, OPAQUE_TOO_LONG), (b"q " + OPAQUE_32, OPAQUE_TOO_LONG), (b"q y", INVALID_FLAG),
])
def test_ms_flag_errors_swallow_the_data(mc, flags, reply):
    assert ms(mc, b"a", b"old") == b"HD\r\n"
    mc.send(ms_cmd(b"a", b"new", flags) + b"mn\r\n")
    assert mc.read_until(b"MN\r\n") == reply + b"MN\r\n"
    assert meta(mc, b"mg a v") == b"VA 3\r\nold\r\n"


def test_ms_base64_key(mc):
    key = b64(b"\x00\x01bin\xff")
    assert_match(rb"HD k" + re.escape(key) + rb" b c\d+\r\n", ms(mc, key, b"hi", b"b k c"))
    assert meta(mc, b"mg " + key + b" b v") == b"VA 2\r\nhi\r\n"
    assert ms(mc, key, b"hi", b"b ME k") == b"NS k" + key + b" b\r\n"
    mc.send(ms_cmd(b"!!!!", b"hi", b"b") + b"mn\r\n")  # data swallowed
    assert mc.read_until(b"MN\r\n") == DECODE_ERROR + b"MN\r\n"


def test_ms_bad_data_chunk(mc):
    assert ms(mc, b"a", b"old") == b"HD\r\n"
    mc.send(b"ms a 1\r\nxy\r\n")  # reads "xy\r", then "\n" is an empty command line
    assert mc.read_line() + mc.read_line() == BAD_CHUNK + b"ERROR\r\n"
    mc.send(b"ms a 2\r\nhi\n")
    mc.send(b"\r\n")
    assert mc.read_line() + mc.read_line() == BAD_CHUNK + b"ERROR\r\n"
    mc.send(b"ms a 3\r\nx\r\n")  # waits for 5 bytes: "x\r\nge" completes the block
    mc.send(b"ge\r\n")
    assert mc.read_line() + mc.read_line() == BAD_CHUNK + b"ERROR\r\n"
    assert meta(mc, b"mg a v") == b"VA 3\r\nold\r\n"  # the old value is kept
    mc.send(b"ms b 1 q\r\nxy\r\nmn\r\n")  # q does not hide it
    assert mc.read_until(b"MN\r\n") == BAD_CHUNK + b"ERROR\r\nMN\r\n"


def test_ms_too_large(mc):
    big = MAX_VALUE_1B_KEY + 1
    assert ms(mc, b"b", b"v" * MAX_VALUE_1B_KEY) == b"HD\r\n"
    assert ms(mc, b"a", b"old") == b"HD\r\n"
    mc.send(ms_cmd(b"a", b"v" * big) + b"mn\r\n")  # the data block is swallowed
    assert mc.read_until(b"MN\r\n") == TOO_LARGE + b"MN\r\n"
    assert meta(mc, b"mg a") == b"EN\r\n"  # and the old value is gone
    # Exactly datalen + 2 bytes are swallowed, whatever they are.
    mc.send(b"ms a %d\r\n" % big + b"v" * big + b"XY\r\nmn\r\n")
    assert mc.read_until(b"MN\r\n") == TOO_LARGE + b"ERROR\r\nMN\r\n"
    mc.send(ms_cmd(b"a", b"v" * (2 * 1024 * 1024), b"q") + b"mn\r\n")  # q does not hide it
    assert mc.read_until(b"MN\r\n") == TOO_LARGE + b"MN\r\n"


@pytest.mark.parametrize("datalen", [b"x", b"-1", b"1x", b"1.5", b""])
def test_ms_invalid_datalen_does_not_swallow(mc, datalen):
    mc.send(b"ms a " + datalen + b" T1\r\nab\r\n")  # with no datalen, T1 is taken as one
    assert mc.read_line() + mc.read_line() == BAD_FORMAT + b"ERROR\r\n"
    assert meta(mc, b"mg a") == b"EN\r\n"


def test_ms_datalen_limits(mc):
    assert mc.call(b"ms a 2147483646\r\n") == BAD_FORMAT  # > INT_MAX - 2
    assert_quiet(mc)
    mc.send(b"ms a 05\r\nhello\r\n")
    assert mc.read_line() == b"HD\r\n"
    mc.send(b"ms a +5\r\nhello\r\n")
    assert mc.read_line() == b"HD\r\n"


def test_ms_clears_stale_and_win_flags(mc):
    assert meta(mc, b"mg a N30") == b"HD W\r\n"
    assert meta(mc, b"mg a") == b"HD Z\r\n"
    assert ms(mc, b"a", b"x", b"MA") == b"HD\r\n"  # append writes a new item too
    assert meta(mc, b"mg a v") == b"VA 1\r\nx\r\n"
    assert meta(mc, b"md a I") == b"HD\r\n"
    assert mc.call(b"set a 0 0 1\r\ny\r\n") == b"STORED\r\n"
    assert meta(mc, b"mg a v") == b"VA 1\r\ny\r\n"
    assert meta(mc, b"md a I") == b"HD\r\n"
    assert mc.call(b"touch a 100\r\n") == b"TOUCHED\r\n"  # touch keeps the item: still stale
    assert meta(mc, b"mg a v") == b"VA 1 X W\r\ny\r\n"


# --- md ------------------------------------------------------------------------------------

def test_md(mc):
    assert meta(mc, b"md a") == b"NF\r\n"
    assert ms(mc, b"a", b"x") == b"HD\r\n"
    assert meta(mc, b"md a") == b"HD\r\n"
    assert meta(mc, b"mg a") == b"EN\r\n"
    assert meta(mc, b"md a") == b"NF\r\n"
    assert meta(mc, b"md a k O5") == b"NF ka O5\r\n"
    assert ms(mc, b"a", b"x") == b"HD\r\n"
    assert meta(mc, b"md a O5 k c v") == b"HD O5 ka\r\n"  # c, v: accepted, not returned


def test_md_compare_cas(mc):
    assert ms(mc, b"a", b"x") == b"HD\r\n"
    cas = cas_of(mc, b"a")
    assert meta(mc, b"md a C%d" % (cas + 1)) == b"EX\r\n"
    assert meta(mc, b"md a C0") == b"EX\r\n"
    assert meta(mc, b"md a C%d I" % (cas + 1)) == b"EX\r\n"
    assert meta(mc, b"mg a v") == b"VA 1\r\nx\r\n"
    assert meta(mc, b"md a C%d k" % cas) == b"HD ka\r\n"
    assert meta(mc, b"mg a") == b"EN\r\n"
    assert meta(mc, b"md a C1") == b"NF\r\n"


def test_md_invalidate(mc):
    assert ms(mc, b"a", b"x", b"T100 F3") == b"HD\r\n"
    cas = cas_of(mc, b"a")
    assert meta(mc, b"md a I") == b"HD\r\n"
    reply = meta(mc, b"mg a c t f v")
    new = int(assert_match(rb"VA 1 c(\d+) t%s f3 X W\r\nx\r\n" % ttl(100), reply).group(1))
    assert new != cas  # CAS bumped, TTL and flags kept
    assert meta(mc, b"md a C%d I" % cas) == b"EX\r\n"
    assert meta(mc, b"md a C%d I T30" % new) == b"HD\r\n"
    assert_match(rb"HD t%s X W\r\n" % ttl(30), meta(mc, b"mg a t"))
    assert meta(mc, b"md a I T0") == b"HD\r\n"
    assert meta(mc, b"mg a t") == b"HD t-1 X W\r\n"
    assert meta(mc, b"md a") == b"HD\r\n"  # a real delete of a stale item
    assert meta(mc, b"mg a") == b"EN\r\n"
    assert meta(mc, b"md a I") == b"NF\r\n"


def test_md_ttl_without_invalidate_just_deletes(mc):
    assert ms(mc, b"a", b"x", b"T100") == b"HD\r\n"
    assert meta(mc, b"md a T30") == b"HD\r\n"
    assert meta(mc, b"mg a") == b"EN\r\n"


def test_md_quiet(mc):
    for key in (b"a", b"b", b"c"):
        assert ms(mc, key, b"x") == b"HD\r\n"
    mc.send(b"md a q\r\n"            # HD hidden
            b"md a q k O5\r\n"       # NF shown, with its flags
            b"md b q C1\r\n"         # EX
            b"md c q I\r\n"          # HD hidden
            b"md a q y\r\n"          # error
            b"mn\r\n")
    assert mc.read_until(b"MN\r\n") == b"NF ka O5\r\nEX\r\n" + INVALID_OR_DUPLICATE + b"MN\r\n"
    assert meta(mc, b"mg c") == b"HD X W\r\n"


def test_md_base64_key(mc):
    key = b64(b"\x00\x01bin\xff")
    assert ms(mc, key, b"hi", b"b") == b"HD\r\n"
    assert meta(mc, key.join([b"md ", b" b k O1"])) == b"HD k" + key + b" b O1\r\n"
    assert meta(mc, key.join([b"md ", b" k b"])) == b"NF k" + key + b" b\r\n"
    assert meta(mc, b"md !!!! b") == INVALID_OR_DUPLICATE


@pytest.mark.parametrize("flags,reply", [
    (b"y", INVALID_OR_DUPLICATE), (b"q q", INVALID_OR_DUPLICATE), (b"Tx", INVALID_OR_DUPLICATE),
    (b"Cx", INVALID_OR_DUPLICATE), (b"I Tx", INVALID_OR_DUPLICATE), (b"MX", b"HD\r\n"),
    (OPAQUE_32, OPAQUE_TOO_LONG), (b"q " + OPAQUE_32, OPAQUE_TOO_LONG),
])
def test_md_errors_keep_the_item(mc, flags, reply):
    assert ms(mc, b"a", b"x") == b"HD\r\n"
    assert meta(mc, b"md a " + flags) == reply
    if reply != b"HD\r\n":
        assert meta(mc, b"mg a v") == b"VA 1\r\nx\r\n"


# --- ma ------------------------------------------------------------------------------------

def test_ma_incr_decr(mc):
    assert meta(mc, b"ma a") == b"NF\r\n"
    assert meta(mc, b"ma a k O7 v") == b"NF ka O7\r\n"
    assert ms(mc, b"a", b"10") == b"HD\r\n"
    assert meta(mc, b"ma a") == b"HD\r\n"
    assert meta(mc, b"mg a v") == b"VA 2\r\n11\r\n"
    assert meta(mc, b"ma a v") == b"VA 2\r\n12\r\n"
    assert meta(mc, b"ma a v D10") == b"VA 2\r\n22\r\n"
    assert meta(mc, b"ma a v MD D5") == b"VA 2\r\n17\r\n"
    assert meta(mc, b"ma a v M- D1") == b"VA 2\r\n16\r\n"
    assert meta(mc, b"ma a v M+") == b"VA 2\r\n17\r\n"
    assert meta(mc, b"ma a v MI D+3") == b"VA 2\r\n20\r\n"
    assert meta(mc, b"ma a v MD D100") == b"VA 1\r\n0\r\n"  # decr stops at 0
    assert meta(mc, b"ma a v MD") == b"VA 1\r\n0\r\n"
    assert meta(mc, b"ma a v D0") == b"VA 1\r\n0\r\n"


def test_ma_shorter_result_is_padded(mc):
    assert ms(mc, b"a", b"100") == b"HD\r\n"
    assert meta(mc, b"ma a v MD") == b"VA 2\r\n99\r\n"
    assert meta(mc, b"mg a v s") == b"VA 3 s3\r\n99 \r\n"
    assert ms(mc, b"b", b"18446744073709551615") == b"HD\r\n"
    assert meta(mc, b"ma b v") == b"VA 1\r\n0\r\n"  # wraps
    assert meta(mc, b"mg b v s") == b"VA 20 s20\r\n0" + b" " * 19 + b"\r\n"
    assert meta(mc, b"ma b v D18446744073709551615") == b"VA 20\r\n18446744073709551615\r\n"
    assert ms(mc, b"c", b"5") == b"HD\r\n"
    assert meta(mc, b"ma c v D18446744073709551615") == b"VA 1\r\n4\r\n"
    assert ms(mc, b"d", b"9") == b"HD\r\n"
    assert meta(mc, b"ma d v") == b"VA 2\r\n10\r\n"  # grows
    assert meta(mc, b"mg d v s") == b"VA 2 s2\r\n10\r\n"


def test_ma_return_flags(mc):
    assert ms(mc, b"a", b"2") == b"HD\r\n"
    reply = meta(mc, b"ma a t c v k O1")
    cas = assert_match(rb"VA 1 t-1 c(\d+) ka O1\r\n3\r\n", reply).group(1)
    assert meta(mc, b"mg a c") == b"HD c" + cas + b"\r\n"
    assert meta(mc, b"ma a O1 k") == b"HD O1 ka\r\n"
    assert meta(mc, b"ma a T100 t") == b"HD t100\r\n"
    assert_match(rb"HD t%s\r\n" % ttl(100), meta(mc, b"ma a t"))
    assert_match(rb"HD t%s\r\n" % ttl(100), meta(mc, b"ma a t T0"))  # t before T: old TTL
    assert meta(mc, b"ma a t") == b"HD t-1\r\n"
    assert meta(mc, b"ma a s f h l u P L") == b"HD\r\n"  # accepted, nothing returned


def test_ma_keeps_client_flags_and_ttl(mc):
    assert ms(mc, b"a", b"5", b"F7 T100") == b"HD\r\n"
    assert meta(mc, b"ma a v D100") == b"VA 3\r\n105\r\n"
    assert_match(rb"VA 3 f7 t%s\r\n105\r\n" % ttl(100), meta(mc, b"mg a f t v"))


def test_ma_autovivify(mc):
    assert meta(mc, b"ma a N0") == b"HD\r\n"
    assert meta(mc, b"mg a v f t") == b"VA 1 f0 t-1\r\n0\r\n"
    assert_match(rb"VA 2 t100 c\d+\r\n42\r\n", meta(mc, b"ma b N100 J42 v t c"))
    assert meta(mc, b"ma c t N100 J42 v") == b"VA 2 t-1\r\n42\r\n"  # t before N: no TTL yet
    assert_match(rb"HD t%s\r\n" % ttl(100), meta(mc, b"ma c t"))
    assert meta(mc, b"ma d N100 T50 t v") == b"VA 1 t50\r\n0\r\n"    # flags act in order
    assert meta(mc, b"ma e T50 N100 t v") == b"VA 1 t100\r\n0\r\n"
    assert meta(mc, b"ma f J42 v") == b"NF\r\n"                        # J needs N
    assert meta(mc, b"ma g N0 J18446744073709551615 v") == b"VA 20\r\n18446744073709551615\r\n"
    assert meta(mc, b"ma h N0 J007 v MD") == b"VA 1\r\n7\r\n"         # created, no delta
    assert meta(mc, b"ma h N0 J5 v") == b"VA 1\r\n8\r\n"               # exists: N, J ignored
    assert meta(mc, b"ma i N0 b") == INVALID_OR_DUPLICATE               # "i" is not base64


def test_ma_autovivify_existing_keeps_ttl(mc):
    assert ms(mc, b"a", b"5", b"T100") == b"HD\r\n"
    assert_match(rb"VA 1 t%s\r\n6\r\n" % ttl(100), meta(mc, b"ma a N0 J9 v t"))


def test_ma_compare_cas(mc):
    assert ms(mc, b"a", b"10") == b"HD\r\n"
    cas = cas_of(mc, b"a")
    assert meta(mc, b"ma a C%d v" % (cas + 1)) == b"EX\r\n"
    assert meta(mc, b"ma a C%d k O1 v" % (cas + 1)) == b"EX ka O1\r\n"
    reply = meta(mc, b"ma a C%d c v" % cas)
    new = int(assert_match(rb"VA 2 c(\d+)\r\n11\r\n", reply).group(1))
    assert new != cas
    assert meta(mc, b"ma a C%d" % cas) == b"EX\r\n"
    assert meta(mc, b"ma m C1 v") == b"NF\r\n"
    assert meta(mc, b"ma m C1 N0 v") == b"VA 1\r\n0\r\n"  # vivify ignores C


def test_ma_quiet(mc):
    assert ms(mc, b"a", b"1") == b"HD\r\n"
    assert ms(mc, b"t", b"abc") == b"HD\r\n"
    mc.send(b"ma a q\r\n"             # HD hidden
            b"ma a q v k\r\n"         # VA hidden too
            b"ma m q k\r\n"           # NF
            b"ma a q C1\r\n"          # EX
            b"ma t q\r\n"             # error
            b"mn\r\n")
    assert mc.read_until(b"MN\r\n") == b"NF km\r\nEX\r\n" + NON_NUMERIC + b"MN\r\n"
    assert meta(mc, b"mg a v") == b"VA 1\r\n3\r\n"


@pytest.mark.parametrize("value", [b"abc", b"", b"-5", b"12abc", b"184467440737095516150"])
def test_ma_non_numeric(mc, value):
    assert ms(mc, b"a", value) == b"HD\r\n"
    assert meta(mc, b"ma a") == NON_NUMERIC
    assert meta(mc, b"ma a q v") == NON_NUMERIC
    assert meta(mc, b"mg a v") == b"VA %d\r\n" % len(value) + value + b"\r\n"


@pytest.mark.parametrize("value,reply", [(b" 5", b"VA 1\r\n6\r\n"), (b"12 ", b"VA 2\r\n13\r\n"),
                                         (b"1 2", b"VA 1\r\n2\r\n"), (b"007", b"VA 1\r\n8\r\n")])
def test_ma_lenient_numbers(mc, value, reply):
    assert ms(mc, b"a", value) == b"HD\r\n"
    assert meta(mc, b"ma a v") == reply


@pytest.mark.parametrize("flags,reply", [
    (b"Dx", INVALID_OR_DUPLICATE), (b"D-1", INVALID_OR_DUPLICATE), (b"D", INVALID_OR_DUPLICATE),
    (b"D18446744073709551616", INVALID_OR_DUPLICATE), (b"D1.5", INVALID_OR_DUPLICATE),
    (b"N0 Jx", INVALID_OR_DUPLICATE), (b"N0 J-1", INVALID_OR_DUPLICATE),
    (b"N0 J18446744073709551616", INVALID_OR_DUPLICATE), (b"Nx", INVALID_OR_DUPLICATE),
    (b"Tx", INVALID_OR_DUPLICATE), (b"Cx", INVALID_OR_DUPLICATE), (b"MDD", INVALID_OR_DUPLICATE),
    (b"M", INVALID_OR_DUPLICATE), (b"y", INVALID_OR_DUPLICATE), (b"v v", INVALID_OR_DUPLICATE),
    (b"MX", MA_BAD_MODE), (b"Md", MA_BAD_MODE), (b"ME", MA_BAD_MODE),
    (b"q MX", MA_BAD_MODE), (b"q y", INVALID_OR_DUPLICATE),
])
def test_ma_flag_errors(mc, flags, reply):
    assert ms(mc, b"a", b"5") == b"HD\r\n"
    assert meta(mc, b"ma a " + flags) == reply
    assert meta(mc, b"ma nothere " + flags) == reply
    assert meta(mc, b"mg a v") == b"VA 1\r\n5\r\n"
    assert meta(mc, b"mg nothere") == b"EN\r\n"


def test_ma_opaque(mc):
    assert meta(mc, b"ma a N0 " + OPAQUE_31) == b"HD " + OPAQUE_31 + b"\r\n"
    assert meta(mc, b"ma nothere " + OPAQUE_32) == OPAQUE_TOO_LONG


def test_ma_base64_key(mc):
    key = b64(b"\x00\x01bin\xff")
    assert meta(mc, key.join([b"ma ", b" N0 b k v"])) == b"VA 1 k" + key + b" b\r\n0\r\n"
    assert meta(mc, key.join([b"ma ", b" b v"])) == b"VA 1\r\n1\r\n"
    assert meta(mc, key.join([b"mg ", b" b v"])) == b"VA 1\r\n1\r\n"
    assert meta(mc, b"ma !!!! b") == INVALID_OR_DUPLICATE


# --- time passing (cachet's debugtime; skips on release memcached) ---------------------------

def test_ms_ttl_expires(shared, mc):
    assert ms(mc, b"a", b"x", b"T10") == b"HD\r\n"
    assert ms(mc, b"b", b"x", b"T100") == b"HD\r\n"
    debugtime(shared, 11)
    assert meta(mc, b"mg a") == b"EN\r\n"
    assert_match(rb"HD t%s\r\n" % ttl(89), meta(mc, b"mg b t"))


def test_md_invalidate_ttl_expires(shared, mc):
    assert ms(mc, b"a", b"x") == b"HD\r\n"
    assert meta(mc, b"md a I T10") == b"HD\r\n"
    debugtime(shared, 11)
    assert meta(mc, b"mg a") == b"EN\r\n"


def test_ma_vivified_ttl_expires(shared, mc):
    assert meta(mc, b"ma a N10 v") == b"VA 1\r\n0\r\n"
    assert meta(mc, b"ma a v") == b"VA 1\r\n1\r\n"
    debugtime(shared, 11)
    assert meta(mc, b"ma a v") == b"NF\r\n"
