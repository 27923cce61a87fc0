"""Byte-exact meta protocol behaviour of memcached 1.6.18 (mn, mg, me, and errors common to all
meta commands) that cachet must reproduce.

Every expected byte string was probed against Debian's /usr/bin/memcached 1.6.18; see
docs/design/memcached-meta-behaviour.md. ms/md/ma live in test_meta_mutations.py and behaviour
that looks accidental in memcached in test_meta_quirks.py; both import the helpers below.

CAS values are never hard-coded (cachet's CAS numbering differs from memcached's counter): tests
read them back and compare. A TTL read in a later command than the one that set it may have lost
one second to a clock tick (`ttl()`); `l`/`la` (seconds since last access) are matched loosely.
Tests that need time to pass use debugtime and skip at that point on release memcached.
"""
import base64
import re

import pytest

from conftest import Conn, debugtime
from text_helpers import BAD_FORMAT, NON_NUMERIC, assert_quiet, stats

INVALID_FLAG = b"CLIENT_ERROR invalid flag\r\n"
DUPLICATE_FLAG = b"CLIENT_ERROR duplicate flag\r\n"
BAD_TOKEN = b"CLIENT_ERROR bad token in command line format\r\n"
OPAQUE_TOO_LONG = b"CLIENT_ERROR opaque token too long\r\n"
DECODE_ERROR = b"CLIENT_ERROR error decoding key\r\n"
INVALID_OR_DUPLICATE = b"CLIENT_ERROR invalid or duplicate flag\r\n"  # every md/ma flag error
MG_TOO_MANY_FLAGS = b"CLIENT_ERROR options flags are too long\r\n"
TOO_MANY_FLAGS = b"CLIENT_ERROR options flags too long\r\n"  # ms, md, ma
MS_BAD_MODE = b"CLIENT_ERROR invalid mode for ms M token\r\n"
MA_BAD_MODE = b"CLIENT_ERROR invalid mode for ma M token\r\n"
M_TOKEN_LENGTH = b"CLIENT_ERROR incorrect length for M token\r\n"
BAD_DELTA_VALUE = b"CLIENT_ERROR invalid numeric delta value\r\n"      # mg/ms only
BAD_INITIAL_VALUE = b"CLIENT_ERROR invalid numeric initial value\r\n"  # mg/ms only

OPAQUE_31 = b"O" + b"abcdefghij" * 3 + b"1"   # 32-byte token: the longest accepted
OPAQUE_32 = b"O" + b"abcdefghij" * 3 + b"12"  # 33-byte token: too long


# --- helpers (also used by test_meta_mutations.py and test_meta_quirks.py) ---------------------

def read_meta(conn):
    """One meta reply: the status line, plus the data block when it is a VA line."""
    line = conn.read_line()
    if line.startswith(b"VA "):
        line += conn.read_exactly(int(line.split()[1]) + 2)
    return line


def meta(conn, line):
    """Sends one meta command line (without its \\r\\n) and returns its reply."""
    conn.send(line + b"\r\n")
    return read_meta(conn)


def ms_cmd(key, value, flags=b""):
    """An `ms` command line with its data block."""
    line = b"ms %s %d" % (key, len(value))
    if flags:
        line += b" " + flags
    return line + b"\r\n" + value + b"\r\n"


def ms(conn, key, value, flags=b""):
    conn.send(ms_cmd(key, value, flags))
    return conn.read_line()


def cas_of(conn, key):
    reply = meta(conn, b"mg " + key + b" c")
    m = re.fullmatch(rb"HD c(\d+)(?: .*)?\r\n", reply)
    assert m, reply
    return int(m.group(1))


def assert_match(pattern, data):
    """Full-match of a bytes regex; returns the match for its groups."""
    m = re.fullmatch(pattern, data, re.DOTALL)
    assert m, (pattern, data)
    return m


def ttl(n):
    """Regex for a remaining TTL of n read in a later command (a clock tick may have passed)."""
    return b"(?:%d|%d)" % (n, n - 1)


def b64(raw):
    return base64.b64encode(raw)


# --- mn and dispatch -----------------------------------------------------------------------

def test_mn(mc):
    assert mc.call(b"mn\r\n") == b"MN\r\n"
    assert mc.call(b"mn foo bar\r\n") == b"MN\r\n"  # extra tokens ignored
    assert mc.call(b"mn q\r\n") == b"MN\r\n"
    mc.send(b"mn\r\nmn\r\n")
    assert mc.read_line() + mc.read_line() == b"MN\r\nMN\r\n"


def test_quiet_pipeline_ended_by_mn(mc):
    assert ms(mc, b"a", b"x") == b"HD\r\n"
    assert ms(mc, b"b", b"yz", b"F5") == b"HD\r\n"
    mc.send(b"mg a q v\r\n"          # hit: printed
            b"mg miss1 q v\r\n"      # miss: silent
            b"mg b q k f\r\n"        # hit: printed
            b"mg miss2 q k O5\r\n"   # miss: silent, even with k and O
            b"mg b q v O7\r\n"
            b"mn\r\n")
    assert mc.read_until(b"MN\r\n") == (b"VA 1\r\nx\r\n" b"HD kb f5\r\n" b"VA 2 O7\r\nyz\r\n"
                                        b"MN\r\n")


def test_quiet_pipeline_of_mutations_shows_only_failures(mc):
    assert ms(mc, b"a", b"1") == b"HD\r\n"
    mc.send(ms_cmd(b"s", b"v", b"q")            # HD hidden
            + ms_cmd(b"a", b"v", b"q ME")       # NS
            + b"md a q C1\r\n"                  # EX
            + b"md nothere q\r\n"               # NF
            + b"md s q\r\n"                     # HD hidden
            + b"ma a q\r\n"                     # hidden (ma q hides HD and VA)
            + b"ma nothere q\r\n"               # NF
            + b"mg nothere q\r\n"               # EN hidden
            + b"mn\r\n")
    assert mc.read_until(b"MN\r\n") == b"NS\r\nEX\r\nNF\r\nNF\r\nMN\r\n"
    assert meta(mc, b"mg a v") == b"VA 1\r\n2\r\n"


@pytest.mark.parametrize("line", [
    b"mz\r\n", b"mz foo\r\n", b"mA\r\n", b"m1 a\r\n", b"MG a\r\n", b"MN\r\n", b"mgg a\r\n",
    b"m\r\n", b"mg\r\n", b"mg  \r\n", b"ms\r\n", b"md\r\n", b"md \r\n", b"ma\r\n",
])
def test_unknown_meta_command_or_missing_key_is_error(mc, line):
    assert mc.call(line) == b"ERROR\r\n"


def test_me_and_ms_without_key_or_length_are_client_errors(mc):
    assert mc.call(b"me\r\n") == BAD_FORMAT
    mc.send(b"ms k\r\n")  # no datalen: nothing is swallowed
    assert mc.read_line() == BAD_FORMAT
    assert_quiet(mc)


@pytest.mark.parametrize("cmd", [b"mg", b"md", b"ma", b"me"])
def test_key_too_long(mc, cmd):
    assert mc.call(cmd + b" " + b"k" * 251 + b"\r\n") == BAD_FORMAT
    assert mc.call(cmd + b" " + b"k" * 251 + b" v\r\n") == BAD_FORMAT


def test_key_of_250_bytes(mc):
    key = b"k" * 250
    assert ms(mc, key, b"x") == b"HD\r\n"
    assert meta(mc, b"mg " + key + b" s k") == b"HD s1 k" + key + b"\r\n"
    assert mc.call(b"ma " + key + b"\r\n") == NON_NUMERIC
    assert mc.call(b"md " + key + b"\r\n") == b"HD\r\n"


def test_ms_key_too_long_does_not_swallow_data(mc):
    mc.send(ms_cmd(b"k" * 251, b"x"))
    assert mc.read_line() == BAD_FORMAT
    assert mc.read_line() == b"ERROR\r\n"  # the data line "x"


def test_too_many_flag_tokens(mc):
    assert ms(mc, b"a", b"x") == b"HD\r\n"
    # The count is checked before the flags: 17 tokens reach the duplicate check, 18 do not.
    assert mc.call(b"mg a" + b" P" * 17 + b"\r\n") == DUPLICATE_FLAG
    assert mc.call(b"mg a" + b" P" * 18 + b"\r\n") == MG_TOO_MANY_FLAGS
    assert mc.call(b"md a" + b" P" * 17 + b"\r\n") == INVALID_OR_DUPLICATE
    assert mc.call(b"md a" + b" P" * 18 + b"\r\n") == TOO_MANY_FLAGS
    assert mc.call(b"ma a" + b" P" * 18 + b"\r\n") == TOO_MANY_FLAGS
    # ms counts its datalen token: 16 flags reach the flag parser (data swallowed) ...
    mc.send(b"ms a 1" + b" P" * 16 + b"\r\nz\r\n")
    assert mc.read_line() == DUPLICATE_FLAG
    # ... 17 are refused before the datalen is used, so the data line is a command.
    mc.send(b"ms a 1" + b" P" * 17 + b"\r\nz\r\n")
    assert mc.read_line() + mc.read_line() == TOO_MANY_FLAGS + b"ERROR\r\n"
    assert mc.call(b"me a" + b" P" * 18 + b"\r\n").startswith(b"ME a ")  # me ignores flags
    assert meta(mc, b"mg a v") == b"VA 1\r\nx\r\n"


def test_p_and_l_flags_are_accepted_and_ignored(mc):
    assert ms(mc, b"a", b"x", b"P L") == b"HD\r\n"
    assert meta(mc, b"mg a P L v") == b"VA 1\r\nx\r\n"
    assert meta(mc, b"mg a Pfoo Lbar") == b"HD\r\n"
    assert meta(mc, b"ma a P L") == NON_NUMERIC
    assert meta(mc, b"ma n P L") == b"NF\r\n"
    assert meta(mc, b"md a P L") == b"HD\r\n"


# --- mg ------------------------------------------------------------------------------------

def test_mg_miss_and_hit(mc):
    assert meta(mc, b"mg a") == b"EN\r\n"
    assert meta(mc, b"mg a v") == b"EN\r\n"
    assert ms(mc, b"a", b"hi") == b"HD\r\n"
    assert meta(mc, b"mg a") == b"HD\r\n"
    assert meta(mc, b"mg a v") == b"VA 2\r\nhi\r\n"
    assert meta(mc, b"mg   a   v  ") == b"VA 2\r\nhi\r\n"  # extra spaces
    assert ms(mc, b"e", b"") == b"HD\r\n"
    assert meta(mc, b"mg e v s") == b"VA 0 s0\r\n\r\n"


def test_mg_value_may_contain_protocol_text(mc):
    value = b"VA 3\r\nEN\r\nMN\r\n"
    assert ms(mc, b"a", value) == b"HD\r\n"
    assert meta(mc, b"mg a v") == b"VA %d\r\n" % len(value) + value + b"\r\n"


def test_mg_returns_flags_in_request_order(mc):
    reply = ms(mc, b"a", b"hi", b"F5 c")
    cas = assert_match(rb"HD c(\d+)\r\n", reply).group(1)
    assert meta(mc, b"mg a k v f c s t") == b"VA 2 ka f5 c" + cas + b" s2 t-1\r\nhi\r\n"
    assert meta(mc, b"mg a t s c f v k") == b"VA 2 t-1 s2 c" + cas + b" f5 ka\r\nhi\r\n"
    assert meta(mc, b"mg a O1 s k") == b"HD O1 s2 ka\r\n"


def test_mg_flag_tokens_only_look_at_their_first_byte(mc):
    assert ms(mc, b"a", b"x") == b"HD\r\n"
    assert meta(mc, b"mg a vfoo kbar sX") == b"VA 1 ka s1\r\nx\r\n"


def test_mg_client_flags(mc):
    assert ms(mc, b"a", b"x") == b"HD\r\n"
    assert meta(mc, b"mg a f") == b"HD f0\r\n"
    assert ms(mc, b"a", b"x", b"F4294967295") == b"HD\r\n"
    assert meta(mc, b"mg a f") == b"HD f4294967295\r\n"


def test_mg_cas_matches_ms_and_gets(mc):
    cas = assert_match(rb"HD c(\d+)\r\n", ms(mc, b"a", b"x", b"c")).group(1)
    assert meta(mc, b"mg a c") == b"HD c" + cas + b"\r\n"
    assert mc.call(b"gets a\r\n", b"END\r\n") == b"VALUE a 0 1 " + cas + b"\r\nx\r\nEND\r\n"


def test_mg_opaque(mc):
    assert ms(mc, b"a", b"x") == b"HD\r\n"
    assert meta(mc, b"mg a O123") == b"HD O123\r\n"
    assert meta(mc, b"mg a O") == b"HD O\r\n"
    assert meta(mc, b"mg a k O") == b"HD ka O\r\n"
    assert meta(mc, b"mg a " + OPAQUE_31) == b"HD " + OPAQUE_31 + b"\r\n"
    assert meta(mc, b"mg a " + OPAQUE_32) == OPAQUE_TOO_LONG
    assert meta(mc, b"mg miss " + OPAQUE_32) == OPAQUE_TOO_LONG
    assert meta(mc, b"mg miss q " + OPAQUE_32) == OPAQUE_TOO_LONG  # errors are never quiet


def test_mg_miss_echoes_key_and_opaque(mc):
    assert meta(mc, b"mg miss k O1") == b"EN kmiss O1\r\n"
    assert meta(mc, b"mg miss O1 v s t c f h l k") == b"EN O1 kmiss\r\n"


def test_mg_quiet(mc):
    assert ms(mc, b"a", b"x") == b"HD\r\n"
    mc.send(b"mg miss q\r\nmg a q\r\nmg a q v k\r\nmg miss q k O1\r\nmg a q y\r\nmn\r\n")
    assert mc.read_until(b"MN\r\n") == (b"HD\r\n" b"VA 1 ka\r\nx\r\n" + INVALID_FLAG
                                        + b"MN\r\n")


def test_mg_hit_before(mc):
    assert ms(mc, b"a", b"x") == b"HD\r\n"
    assert meta(mc, b"mg a h") == b"HD h0\r\n"
    assert meta(mc, b"mg a h") == b"HD h1\r\n"
    assert meta(mc, b"mg a v h") == b"VA 1 h1\r\nx\r\n"
    assert ms(mc, b"a", b"y") == b"HD\r\n"  # a new item has not been fetched
    assert meta(mc, b"mg a h") == b"HD h0\r\n"
    assert ms(mc, b"b", b"x") == b"HD\r\n"
    assert meta(mc, b"mg b v") == b"VA 1\r\nx\r\n"  # plain fetch marks it too
    assert meta(mc, b"mg b h") == b"HD h1\r\n"


def test_mg_no_bump_does_not_mark_fetched(mc):
    assert ms(mc, b"a", b"x") == b"HD\r\n"
    assert meta(mc, b"mg a h u") == b"HD h0\r\n"
    assert meta(mc, b"mg a u v") == b"VA 1\r\nx\r\n"
    assert meta(mc, b"mg a h u") == b"HD h0\r\n"
    assert meta(mc, b"mg a h") == b"HD h0\r\n"
    assert meta(mc, b"mg a h u") == b"HD h1\r\n"


def test_mg_last_access(mc):
    assert ms(mc, b"a", b"x") == b"HD\r\n"
    assert_match(rb"HD l\d+ h0\r\n", meta(mc, b"mg a l h"))
    assert_match(rb"VA 1 h1 l\d+\r\nx\r\n", meta(mc, b"mg a v h l"))


def test_mg_ttl_remaining(mc):
    assert ms(mc, b"a", b"x") == b"HD\r\n"
    assert meta(mc, b"mg a t") == b"HD t-1\r\n"
    assert ms(mc, b"a", b"x", b"T100") == b"HD\r\n"
    assert_match(rb"HD t%s\r\n" % ttl(100), meta(mc, b"mg a t"))


def test_mg_touch(mc):
    assert ms(mc, b"a", b"x") == b"HD\r\n"
    assert meta(mc, b"mg a T50 t") == b"HD t50\r\n"
    # Flags act in request order: t before T shows the old TTL.
    assert_match(rb"VA 1 t%s\r\nx\r\n" % ttl(50), meta(mc, b"mg a t v T100"))
    assert_match(rb"HD t%s\r\n" % ttl(100), meta(mc, b"mg a t"))
    assert meta(mc, b"mg a T0 t") == b"HD t-1\r\n"
    assert meta(mc, b"mg miss T10 t") == b"EN\r\n"
    assert meta(mc, b"mg a T-1") == b"HD\r\n"  # expired at once
    assert meta(mc, b"mg a") == b"EN\r\n"


def test_mg_vivify_on_miss(mc):
    reply = meta(mc, b"mg a N30 s v t c f")
    cas = assert_match(rb"VA 0 s0 t30 c(\d+) f0 W\r\n\r\n", reply).group(1)
    assert_match(rb"VA 0 s0 t%s Z\r\n\r\n" % ttl(30), meta(mc, b"mg a N30 s v t"))
    assert meta(mc, b"mg a") == b"HD Z\r\n"  # Z is shown even without N/R in the request
    assert meta(mc, b"mg a N30 c") == b"HD c" + cas + b" Z\r\n"
    assert mc.call(b"get a\r\n", b"END\r\n") == b"VALUE a 0 0\r\n\r\nEND\r\n"
    # The winner stores the real value: a new item, no Z.
    assert ms(mc, b"a", b"abc", b"T100") == b"HD\r\n"
    assert meta(mc, b"mg a v") == b"VA 3\r\nabc\r\n"
    assert meta(mc, b"mg a N30") == b"HD\r\n"  # N on a hit does nothing


def test_mg_vivify_quiet_is_a_hit(mc):
    mc.send(b"mg a N30 q\r\nmg a q\r\nmg a v q\r\nmn\r\n")
    assert mc.read_until(b"MN\r\n") == b"HD W\r\nHD Z\r\nVA 0 Z\r\n\r\nMN\r\n"


def test_mg_vivify_ttl_follows_flag_order(mc):
    assert meta(mc, b"mg a t N30") == b"HD t-1 W\r\n"  # t before N: still no TTL
    assert_match(rb"HD t%s Z\r\n" % ttl(30), meta(mc, b"mg a t"))
    assert meta(mc, b"mg b N0 t") == b"HD t-1 W\r\n"
    assert meta(mc, b"mg b t") == b"HD t-1 Z\r\n"
    assert meta(mc, b"mg c h N30") == b"HD h0 W\r\n"
    assert meta(mc, b"mg c h") == b"HD h1 Z\r\n"


def test_mg_recache(mc):
    assert ms(mc, b"a", b"x", b"T100") == b"HD\r\n"
    cas = cas_of(mc, b"a")
    assert_match(rb"HD t%s\r\n" % ttl(100), meta(mc, b"mg a R30 t"))  # 100 left: no win
    assert meta(mc, b"mg a R200") == b"HD W\r\n"   # remaining TTL < 200: win
    assert meta(mc, b"mg a R200") == b"HD Z\r\n"   # the win was already handed out
    assert meta(mc, b"mg a") == b"HD Z\r\n"
    assert meta(mc, b"mg a v c") == b"VA 1 c%d Z\r\nx\r\n" % cas  # the win does not bump CAS
    assert ms(mc, b"b", b"x") == b"HD\r\n"
    assert meta(mc, b"mg b R200") == b"HD\r\n"     # no TTL: never a recache win
    assert meta(mc, b"mg miss R200") == b"EN\r\n"


def test_mg_recache_with_vivify(mc):
    assert_match(rb"VA 0 c\d+ t30 W\r\n\r\n", meta(mc, b"mg a N30 R30 v c t"))
    assert_match(rb"HD t%s Z\r\n" % ttl(30), meta(mc, b"mg a R30 t"))


def test_mg_stale_after_md_invalidate(mc):
    assert ms(mc, b"a", b"x") == b"HD\r\n"
    old = cas_of(mc, b"a")
    assert meta(mc, b"md a I") == b"HD\r\n"
    new = cas_of(mc, b"a")  # this read is the first after invalidation: it wins
    assert new != old
    assert meta(mc, b"mg a c") == b"HD c%d Z X\r\n" % new
    assert meta(mc, b"mg a v R200 c") == b"VA 1 c%d Z X\r\nx\r\n" % new
    # Invalidating again clears the sent token: the next reader wins again.
    assert meta(mc, b"md a I T30") == b"HD\r\n"
    assert_match(rb"VA 1 t%s X W\r\nx\r\n" % ttl(30), meta(mc, b"mg a t v"))
    assert_match(rb"VA 1 t%s Z X\r\nx\r\n" % ttl(30), meta(mc, b"mg a t v"))
    assert meta(mc, b"md a I") == b"HD\r\n"
    assert meta(mc, b"mg a N30") == b"HD X W\r\n"  # N on a stale hit: X W, no vivify
    assert ms(mc, b"a", b"y") == b"HD\r\n"          # a fresh value clears X and Z
    assert meta(mc, b"mg a t v") == b"VA 1 t-1\r\ny\r\n"


def test_mg_first_read_after_invalidate(mc):
    assert ms(mc, b"a", b"x") == b"HD\r\n"
    assert meta(mc, b"md a I") == b"HD\r\n"
    assert meta(mc, b"mg a") == b"HD X W\r\n"
    assert meta(mc, b"mg a q") == b"HD Z X\r\n"


def test_mg_base64_key(mc):
    raw = b"\x00\x01bin\xff"
    key = b64(raw)  # AAFiaW7/
    assert_match(rb"HD k" + re.escape(key) + rb" b c\d+\r\n", ms(mc, key, b"hi", b"b k c"))
    assert meta(mc, b"mg " + key + b" b k v") == b"VA 2 k" + key + b" b\r\nhi\r\n"
    assert meta(mc, b"mg " + key + b" k O1 b") == b"HD k" + key + b" b O1\r\n"
    assert meta(mc, b"mg " + key + b" b v") == b"VA 2\r\nhi\r\n"  # " b" only comes with k
    assert meta(mc, b"mg " + key + b" k v") == b"EN k" + key + b"\r\n"  # not decoded: a miss
    miss = b64(b"\x02\x03")
    assert meta(mc, b"mg " + miss + b" b k O1") == b"EN k" + miss + b" b O1\r\n"


@pytest.mark.parametrize("key", [b"!!!!", b"a", b"YQ"])
def test_mg_invalid_base64_key(mc, key):
    assert meta(mc, b"mg " + key + b" b") == DECODE_ERROR
    assert meta(mc, b"mg " + key + b" b q") == DECODE_ERROR
    assert meta(mc, b"mg " + key + b" Tx b") == DECODE_ERROR  # the last message wins
    assert meta(mc, b"mg " + key + b" b Tx") == BAD_TOKEN


@pytest.mark.parametrize("flags,reply", [
    (b"v v", DUPLICATE_FLAG), (b"k v k", DUPLICATE_FLAG), (b"O1 O2", DUPLICATE_FLAG),
    (b"T1 T2", DUPLICATE_FLAG),
    (b"y", INVALID_FLAG), (b"x", INVALID_FLAG), (b"1", INVALID_FLAG), (b"E5", INVALID_FLAG),
    (b"I", b"HD\r\n"), (b"C1", b"HD\r\n"), (b"F1", b"HD\r\n"), (b"MS", b"HD\r\n"),
    (b"Tx", BAD_TOKEN), (b"T", BAD_TOKEN), (b"T1.5", BAD_TOKEN), (b"Nx", BAD_TOKEN),
    (b"N", BAD_TOKEN), (b"Rx", BAD_TOKEN), (b"R", BAD_TOKEN), (b"v Rx k", BAD_TOKEN),
    (b"Cx", BAD_TOKEN), (b"Fx", BAD_FORMAT), (b"M", M_TOKEN_LENGTH), (b"MX", b"HD\r\n"),
    (b"Dx", BAD_DELTA_VALUE), (b"Jx", BAD_INITIAL_VALUE),
    # Unknown and duplicate flags stop at once; value errors go on and the last message wins
    # (F's error has no message of its own).
    (b"Tx y", INVALID_FLAG), (b"Tx v v", DUPLICATE_FLAG), (b"Fx Tx", BAD_TOKEN),
    (b"Tx Fx", BAD_TOKEN), (b"Dx Jx", BAD_INITIAL_VALUE), (b"MSS Dx", BAD_DELTA_VALUE),
])
def test_mg_flag_errors(mc, flags, reply):
    assert ms(mc, b"a", b"x") == b"HD\r\n"
    assert meta(mc, b"mg a " + flags) == reply
    assert meta(mc, b"mg a t v") == b"VA 1 t-1\r\nx\r\n"  # nothing was changed


# --- me ------------------------------------------------------------------------------------

ME_RE = rb"ME %s exp=%s la=\d+ cas=(\d+) fetch=%s cls=%s size=%s\r\n"


def test_me_miss(mc):
    assert mc.call(b"me a\r\n") == b"EN\r\n"


def test_me_hit(mc):
    assert ms(mc, b"a", b"x") == b"HD\r\n"
    m = assert_match(ME_RE % (b"a", b"-1", b"no", b"1", b"61"), mc.call(b"me a\r\n"))
    assert meta(mc, b"mg a u c") == b"HD c%d\r\n" % int(m.group(1))
    assert meta(mc, b"mg a u v") == b"VA 1\r\nx\r\n"  # no bump: still not fetched
    assert_match(ME_RE % (b"a", b"-1", b"no", b"1", b"61"), mc.call(b"me a\r\n"))
    assert meta(mc, b"mg a v") == b"VA 1\r\nx\r\n"
    assert_match(ME_RE % (b"a", b"-1", b"yes", b"1", b"61"), mc.call(b"me a\r\n"))
    assert meta(mc, b"mg a h") == b"HD h1\r\n"  # me did not count as a fetch either way
    assert_match(ME_RE % (b"a", b"-1", b"yes", b"1", b"61"), mc.call(b"me a extra tokens\r\n"))


def test_me_ttl_is_printed_negative(mc):
    # exp is current_time - exptime: an item with 100 s left shows exp=-100.
    assert ms(mc, b"a", b"hello", b"T100") == b"HD\r\n"
    assert_match(ME_RE % (b"a", b"-" + ttl(100), b"no", b"1", b"65"), mc.call(b"me a\r\n"))


def test_me_after_invalidate_shows_new_cas(mc):
    assert ms(mc, b"a", b"x") == b"HD\r\n"
    assert meta(mc, b"md a I") == b"HD\r\n"
    cas = cas_of(mc, b"a")  # a fetch
    m = assert_match(ME_RE % (b"a", b"-1", b"yes", b"1", b"61"), mc.call(b"me a\r\n"))
    assert int(m.group(1)) == cas


# size = 48-byte header + 8 CAS + key + NUL + value + CRLF (+ 4 with non-zero client flags);
# cls is the default slab class (-n 48, -f 1.25, chunk sizes rounded up to 8, largest 512 KiB).
@pytest.mark.parametrize("vlen,flags,size,cls", [
    (1, b"", 61, 1), (36, b"", 96, 1), (37, b"", 97, 2), (60, b"", 120, 2), (61, b"", 121, 3),
    (90, b"", 150, 3), (92, b"", 152, 3), (93, b"", 153, 4), (132, b"", 192, 4),
    (133, b"", 193, 5), (244, b"", 304, 6), (245, b"", 305, 7), (2, b"F1", 66, 1),
    (32, b"F1", 96, 1), (33, b"F1", 97, 2), (940, b"", 1000, 12), (2001, b"", 2061, 15),
    (9940, b"", 10000, 22), (99940, b"", 100000, 32), (524228, b"", 524288, 39),
    (524229, b"", 524289, 39), (1048516, b"", 1048576, 39),
])
def test_me_size_and_class(mc, vlen, flags, size, cls):
    assert ms(mc, b"s", b"v" * vlen, flags) == b"HD\r\n"
    assert_match(ME_RE % (b"s", b"-1", b"no", b"%d" % cls, b"%d" % size), mc.call(b"me s\r\n"))


@pytest.mark.parametrize("shape", [("-f", "2", "-n", "100"), ("-f", "1.1", "-n", "16")],
                         ids=["f2-n100", "f1.1-n16"])
def test_me_class_follows_the_size_classes_of_stats_items(server_factory, shape):
    """With -f/-n changed, `me` names the class `stats items` counts the item in."""
    server = server_factory(*shape)
    conn = Conn(server)
    for vlen in (1, 200, 900, 5000, 70000):
        assert ms(conn, b"s", b"v" * vlen) == b"HD\r\n"
        numbers = {name.split(":")[1]: value for name, value in stats(conn, b"items").items()
                   if name.endswith(":number") and value != "0"}
        assert list(numbers.values()) == ["1"], numbers
        (cls,) = numbers
        assert_match(ME_RE % (b"s", b"-1", b"no", cls.encode(), b"%d" % (60 + vlen)),
                     conn.call(b"me s\r\n"))
    conn.close()


def test_me_vivified_item(mc):
    assert meta(mc, b"mg a N0") == b"HD W\r\n"  # the vivifying mg counts as a fetch
    assert_match(ME_RE % (b"a", b"-1", b"yes", b"1", b"60"), mc.call(b"me a\r\n"))


def test_me_base64_key(mc):
    key = b64(b"\x00\x01bin\xff")
    assert ms(mc, key, b"hi", b"b") == b"HD\r\n"
    assert_match(ME_RE % (re.escape(key), b"-1", b"no", b"1", b"67"),
                 mc.call(b"me " + key + b" b\r\n"))
    assert mc.call(b"me " + key + b"\r\n") == b"EN\r\n"        # not decoded
    assert mc.call(b"me " + key + b" x b\r\n") == b"EN\r\n"    # b only counts right after the key
    assert mc.call(b"me w1 b\r\n") == BAD_FORMAT               # not base64
    assert mc.call(b"me !!!! b\r\n") == BAD_FORMAT


# --- time passing (cachet's debugtime; skips on release memcached) ---------------------------

def test_mg_recache_win_after_time_passes(shared, mc):
    assert ms(mc, b"a", b"x", b"T100") == b"HD\r\n"
    assert meta(mc, b"mg a R30") == b"HD\r\n"
    debugtime(shared, 75)
    assert_match(rb"HD t%s W\r\n" % ttl(25), meta(mc, b"mg a t R30"))
    assert meta(mc, b"mg a R30") == b"HD Z\r\n"


def test_mg_vivified_item_expires(shared, mc):
    assert meta(mc, b"mg a N30") == b"HD W\r\n"
    assert meta(mc, b"mg a N30") == b"HD Z\r\n"
    debugtime(shared, 31)
    assert meta(mc, b"mg a") == b"EN\r\n"
    assert meta(mc, b"mg a N30") == b"HD W\r\n"


def test_mg_ttl_and_last_access_after_time_passes(shared, mc):
    assert ms(mc, b"a", b"x", b"T100") == b"HD\r\n"
    assert meta(mc, b"mg b T10") == b"EN\r\n"
    assert ms(mc, b"b", b"x") == b"HD\r\n"
    assert meta(mc, b"mg b T10") == b"HD\r\n"
    debugtime(shared, 20)
    assert_match(rb"HD t%s l(?:20|21)\r\n" % ttl(80), meta(mc, b"mg a t l"))
    assert_match(ME_RE % (b"a", b"-" + ttl(80), b"yes", b"1", b"61"), mc.call(b"me a\r\n"))
    assert meta(mc, b"mg b") == b"EN\r\n"
