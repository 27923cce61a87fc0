"""memcached 1.6.18 meta behaviour that looks accidental (side effects before an error, silent
truncation, flags that stick to an item). Probed against Debian's /usr/bin/memcached; each test
is one quirk so cachet can match it or mark a deliberate difference with
memcached_only_difference (see docs/design/memcached-meta-behaviour.md, "Accidental behaviour").
"""
from conftest import memcached_only_difference, not_in_cachet
from test_meta_protocol import (DUPLICATE_FLAG, INVALID_OR_DUPLICATE, OPAQUE_32, OPAQUE_TOO_LONG,
                                assert_match, meta, ms, ms_cmd, ttl)
from text_helpers import BAD_FORMAT, TOO_LARGE

BAD_TOKEN = b"CLIENT_ERROR bad token in command line format\r\n"
WRAP = "cachet refuses meta numbers past 32 bits that memcached silently wraps"


def test_mg_vivifies_before_rejecting_a_long_opaque(mc):
    assert meta(mc, b"mg a N30 " + OPAQUE_32) == OPAQUE_TOO_LONG
    # The item exists (N ran before O was checked) but nobody was told they won: no Z.
    assert_match(rb"VA 0 t%s\r\n\r\n" % ttl(30), meta(mc, b"mg a v t"))
    assert meta(mc, b"mg b " + OPAQUE_32 + b" N30") == OPAQUE_TOO_LONG
    assert meta(mc, b"mg b t") == b"HD t-1\r\n"  # O before N: created, TTL never set


def test_mg_touches_before_rejecting_a_long_opaque(mc):
    assert ms(mc, b"a", b"x") == b"HD\r\n"
    assert meta(mc, b"mg a T100 " + OPAQUE_32) == OPAQUE_TOO_LONG
    assert_match(rb"HD t%s\r\n" % ttl(100), meta(mc, b"mg a t"))
    assert meta(mc, b"mg a " + OPAQUE_32 + b" T0") == OPAQUE_TOO_LONG
    assert_match(rb"HD t%s\r\n" % ttl(100), meta(mc, b"mg a t"))


def test_mg_recache_win_lost_on_long_opaque(mc):
    assert ms(mc, b"a", b"x", b"T10") == b"HD\r\n"
    assert meta(mc, b"mg a R100 " + OPAQUE_32) == OPAQUE_TOO_LONG
    assert meta(mc, b"mg a R100") == b"HD W\r\n"  # the failed request did not take the win


def test_ma_applies_delta_before_rejecting_a_long_opaque(mc):
    assert ms(mc, b"a", b"10") == b"HD\r\n"
    assert meta(mc, b"ma a " + OPAQUE_32) == OPAQUE_TOO_LONG
    assert meta(mc, b"mg a v") == b"VA 2\r\n11\r\n"
    assert meta(mc, b"ma b N0 J5 " + OPAQUE_32) == OPAQUE_TOO_LONG
    assert meta(mc, b"mg b v") == b"VA 1\r\n5\r\n"


@not_in_cachet(WRAP)
def test_ms_client_flags_truncated_to_32_bits(mc):
    assert ms(mc, b"a", b"x", b"F4294967296") == b"HD\r\n"
    assert meta(mc, b"mg a f") == b"HD f0\r\n"
    assert ms(mc, b"a", b"x", b"F4294967297") == b"HD\r\n"
    assert meta(mc, b"mg a f") == b"HD f1\r\n"


@not_in_cachet(WRAP)
def test_ms_datalen_truncated_to_32_bits(mc):
    mc.send(b"ms a 4294967297\r\nx\r\n")
    assert mc.read_line() == b"HD\r\n"
    assert meta(mc, b"mg a v") == b"VA 1\r\nx\r\n"
    mc.send(b"ms a 4294967296\r\n\r\n")
    assert mc.read_line() == b"HD\r\n"
    assert meta(mc, b"mg a v") == b"VA 0\r\n\r\n"


def test_ms_too_large_deletes_the_old_value_in_every_mode(mc):
    big = b"v" * 1048517  # one byte over the limit for a 1-byte key
    for mode in (b"MA", b"MP", b"ME", b"MR", b"MS"):
        assert ms(mc, b"a", b"old") == b"HD\r\n"
        assert ms(mc, b"a", big, mode) == TOO_LARGE
        assert meta(mc, b"mg a") == b"EN\r\n"


def test_ma_in_place_keeps_stale_and_win_flags(mc):
    assert ms(mc, b"a", b"5") == b"HD\r\n"
    assert meta(mc, b"md a I") == b"HD\r\n"
    assert meta(mc, b"ma a v") == b"VA 1\r\n6\r\n"        # same length: updated in place
    assert meta(mc, b"mg a v") == b"VA 1 X W\r\n6\r\n"
    assert meta(mc, b"ma a v D4") == b"VA 2\r\n10\r\n"    # longer: a new item, flags gone
    assert meta(mc, b"mg a v") == b"VA 2\r\n10\r\n"
    assert meta(mc, b"mg b N30") == b"HD W\r\n"
    assert ms(mc, b"b", b"7", b"MA") == b"HD\r\n"
    assert meta(mc, b"md b I") == b"HD\r\n"
    assert meta(mc, b"mg b") == b"HD X W\r\n"
    assert meta(mc, b"ma b v MD") == b"VA 1\r\n6\r\n"
    assert meta(mc, b"mg b v") == b"VA 1 Z X\r\n6\r\n"


def test_ma_quiet_does_not_hide_a_vivified_value(mc):
    mc.send(b"ma a N0 J5 q v\r\nma a N0 J5 q v\r\nma b N0 q\r\nmn\r\n")
    assert mc.read_until(b"MN\r\n") == b"VA 1\r\n5\r\nHD\r\nMN\r\n"


@not_in_cachet("cachet returns a key as the request spelled it (base64 with b), not as stored")
def test_binary_key_flag_belongs_to_the_item(mc):
    # "YQ==" is base64 for "a". A hit echoes k in the encoding the item was stored with,
    # whatever the request said; a miss echoes it as the request said.
    assert ms(mc, b"a", b"x") == b"HD\r\n"
    assert meta(mc, b"mg YQ== b k") == b"HD ka\r\n"
    assert ms(mc, b"YQ==", b"y", b"b") == b"HD\r\n"
    assert meta(mc, b"mg a k v") == b"VA 1 kYQ== b\r\ny\r\n"
    assert_match(rb"ME YQ== exp=-1 la=\d+ cas=\d+ fetch=yes cls=1 size=61\r\n",
                 mc.call(b"me a\r\n"))
    assert meta(mc, b"md a k") == b"HD ka\r\n"  # md echoes the request's key
    assert meta(mc, b"mg YQ== b k") == b"EN kYQ== b\r\n"


def test_flag_bytes_from_0x7f_are_duplicates(mc):
    assert ms(mc, b"a", b"x") == b"HD\r\n"
    for byte in (b"\x7f", b"\x80", b"\xff"):
        assert meta(mc, b"mg a " + byte) == DUPLICATE_FLAG
        assert meta(mc, b"md a " + byte) == INVALID_OR_DUPLICATE
        mc.send(ms_cmd(b"a", b"y", byte) + b"mn\r\n")
        assert mc.read_until(b"MN\r\n") == DUPLICATE_FLAG + b"MN\r\n"
    assert meta(mc, b"mg a \x01") == b"CLIENT_ERROR invalid flag\r\n"
    assert meta(mc, b"mg a v") == b"VA 1\r\nx\r\n"


@not_in_cachet(WRAP)
def test_ttl_tokens_truncated_to_int32_like_classic_exptime(mc):
    assert ms(mc, b"a", b"x", b"T4294967301") == b"HD\r\n"  # 2^32 + 5 -> 5
    assert_match(rb"HD t%s\r\n" % ttl(5), meta(mc, b"mg a t"))
    assert meta(mc, b"mg a T4294967296 t") == b"HD t-1\r\n"  # 2^32 -> 0: no TTL
    assert meta(mc, b"mg a T2147483648") == b"HD\r\n"        # -> INT32_MIN: expired
    assert meta(mc, b"mg a") == b"EN\r\n"


@memcached_only_difference(WRAP)
def test_ms_flags_and_datalen_past_32_bits_are_refused(mc):
    assert ms(mc, b"a", b"old") == b"HD\r\n"
    for flags in (b"F4294967296", b"F4294967297", b"F18446744073709551615"):
        # The length was valid, so the data block is read and dropped.
        mc.send(ms_cmd(b"a", b"x", flags) + b"mn\r\n")
        assert mc.read_until(b"MN\r\n") == BAD_FORMAT + b"MN\r\n"
    assert ms(mc, b"a", b"y", b"F4294967295") == b"HD\r\n"  # the largest 32-bit flags
    assert meta(mc, b"mg a f v") == b"VA 1 f4294967295\r\ny\r\n"
    for length in (b"4294967299", b"4294967296", b"2147483648", b"-4294967295"):
        # A refused length says nothing about the data: the next line is read as a command.
        mc.send(b"ms a " + length + b"\r\nmn\r\n")
        assert mc.read_until(b"MN\r\n") == BAD_FORMAT + b"MN\r\n"
    assert meta(mc, b"mg a f v") == b"VA 1 f4294967295\r\ny\r\n"


@memcached_only_difference(WRAP)
def test_ttl_tokens_past_int32_are_refused(mc):
    assert ms(mc, b"a", b"x") == b"HD\r\n"
    for token in (b"T4294967301", b"T2147483648", b"T-2147483649"):
        mc.send(ms_cmd(b"a", b"y", token) + b"mn\r\n")
        assert mc.read_until(b"MN\r\n") == BAD_TOKEN + b"MN\r\n"
    for line in (b"mg a T4294967296 t", b"mg a R4294967297", b"mg b N4294967297"):
        assert meta(mc, line) == BAD_TOKEN
    for line in (b"ma n N4294967297 J5", b"ma n N5 T4294967296 J5"):
        assert meta(mc, line) == INVALID_OR_DUPLICATE  # ma's answer to any bad flag
    assert meta(mc, b"mg a t v") == b"VA 1 t-1\r\nx\r\n"  # untouched
    assert meta(mc, b"mg b") == b"EN\r\n"                 # nothing vivified
    assert meta(mc, b"mg n") == b"EN\r\n"
    # The int32 bound still parses: an absolute time in 2038.
    assert_match(rb"HD t\d+\r\n", meta(mc, b"mg a T2147483647 t"))
