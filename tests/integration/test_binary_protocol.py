"""Byte-exact binary protocol behaviour of memcached 1.6.18 that cachet must reproduce.

Every expectation here was probed against Debian's /usr/bin/memcached 1.6.18 over raw sockets;
see docs/design/memcached-binary-behaviour.md. Tests share one server per module; each gets a
fresh connection and a cache emptied by a binary FLUSH. CAS values are compared only for
identity (non-zero, equal, different), never for how they are numbered. Malformed-packet tests
live in test_binary_errors.py.
"""
import pytest

from conftest import Conn, debugtime
from binary_helpers import (
    ADD, ADDQ, APPEND, APPENDQ, DECREMENT, DECREMENTQ, DELETE, DELETEQ, DELTA_BADVAL,
    ERROR_BODY, FLUSH, FLUSHQ, GAT, GATK, GATKQ, GATQ, GET, GETK, GETKQ, GETQ, HEADER, INCREMENT,
    INCREMENTQ, KEY_EEXISTS, KEY_ENOENT, NOOP, NOT_STORED, PREPEND, PREPENDQ, QUIT, QUITQ,
    REPLACE, REPLACEQ, RES_MAGIC, SET, SETQ, STAT, SUCCESS, TOUCH, VERSION, BinConn,
    exptime_extras, flags_of, incr_extras, request, require_stats_group, storage_extras, u64)

MAX_U64 = 2**64 - 1
NON_NUMERIC = ERROR_BODY[DELTA_BADVAL]


@pytest.fixture
def bc(shared):
    """A fresh binary connection to the module's server, emptied by FLUSH."""
    c = BinConn(shared, timeout=10)
    r = c.call(FLUSH)
    assert (r.opcode, r.status, r.body_len) == (FLUSH, SUCCESS, 0)
    yield c
    c.close()


def ok(r, opcode, opaque=0):
    """A success response header: magic, opcode, status, opaque, data type 0."""
    assert (r.magic, r.opcode, r.status, r.opaque, r.data_type) == (
        RES_MAGIC, opcode, SUCCESS, opaque, 0), r
    return r


def err(r, opcode, status, opaque=0):
    """An error response: no extras, no key, cas 0, memcached's text for the status."""
    assert r == (RES_MAGIC, opcode, 0, 0, 0, status, len(ERROR_BODY[status]), opaque, 0, b"", b"",
                 ERROR_BODY[status]), r
    return r


def hit(r, opcode, value, flags=0, key=b"", opaque=0):
    ok(r, opcode, opaque)
    assert (r.extras_len, flags_of(r), r.key, r.value) == (4, flags, key, value), r
    assert r.body_len == 4 + len(key) + len(value)
    assert r.cas != 0
    return r


# --- GET / GETQ / GETK / GETKQ ------------------------------------------------------------

def test_get_hit_returns_flags_value_and_cas(bc):
    s = ok(bc.set(b"greeting", b"hello", flags=0xDEADBEEF, opaque=7), SET, 7)
    assert (s.extras_len, s.key_len, s.body_len) == (0, 0, 0) and s.cas != 0
    r = hit(bc.get(b"greeting", opaque=9), GET, b"hello", flags=0xDEADBEEF, opaque=9)
    assert r.cas == s.cas
    hit(bc.get(b"greeting", GETK, opaque=10), GETK, b"hello", flags=0xDEADBEEF, key=b"greeting",
        opaque=10)


def test_get_miss(bc):
    err(bc.get(b"absent", opaque=0xAABBCCDD), GET, KEY_ENOENT, 0xAABBCCDD)
    # GETK's miss carries the key and no text
    assert bc.get(b"absent", GETK, opaque=3) == (RES_MAGIC, GETK, 6, 0, 0, KEY_ENOENT, 6, 3, 0,
                                                  b"", b"absent", b"")


def test_get_raw_bytes(bc):
    bc.send(request(SET, b"k", b"v", storage_extras(5), opaque=1, cas=0) +
            request(GET, b"k", opaque=2))
    assert bc.read_response().status == SUCCESS
    r = bc.read_exactly(24 + 5)
    assert r[:8] == b"\x81\x00\x00\x00\x04\x00\x00\x00"  # magic opcode keylen extlen type status
    assert r[8:16] == b"\x00\x00\x00\x05\x00\x00\x00\x02"  # body length 5, opaque 2
    assert r[24:] == b"\x00\x00\x00\x05v"  # flags, value


def test_quiet_gets_are_silent_on_miss(bc):
    bc.set(b"a", b"A", flags=1)
    bc.send(request(GETQ, b"zz", opaque=1) + request(GETKQ, b"zz", opaque=2) +
            request(GETQ, b"a", opaque=3) + request(GETKQ, b"a", opaque=4) + request(NOOP, opaque=5))
    got = bc.read_until_noop()
    assert len(got) == 2
    hit(got[0], GETQ, b"A", flags=1, opaque=3)
    hit(got[1], GETKQ, b"A", flags=1, key=b"a", opaque=4)
    bc.assert_quiet()


def test_getkq_pipeline_with_noop(bc):
    """The multiget pattern clients use: GETKQ per key, then NOOP; hits come in request order,
    then the NOOP reply ends the batch."""
    keys = [b"key-%d" % i for i in range(50)]
    for i, k in enumerate(keys):
        if i % 3 == 0:
            bc.set(k, b"value-%d" % i, flags=i)
    pipeline = b"".join(request(GETKQ, k, opaque=i) for i, k in enumerate(keys))
    bc.send(pipeline + request(NOOP, opaque=0xFFFFFFFF))
    got = bc.read_until_noop()
    assert [(r.opaque, r.key, r.value, flags_of(r)) for r in got] == [
        (i, k, b"value-%d" % i, i) for i, k in enumerate(keys) if i % 3 == 0]
    assert all(r.opcode == GETKQ and r.status == SUCCESS for r in got)


def test_binary_safe_keys_and_values(bc):
    key = b"key with spaces \xff\xfe"
    value = bytes(range(256)) + b"\r\nEND\r\n"
    ok(bc.set(key, value), SET)
    hit(bc.get(key, GETK), GETK, value, key=key)
    ok(bc.set(b"empty", b""), SET)
    hit(bc.get(b"empty"), GET, b"")


def test_250_byte_key(bc):
    key = b"k" * 250
    ok(bc.set(key, b"v"), SET)
    hit(bc.get(key, GETK), GETK, b"v", key=key)
    # the text protocol sees the same item
    text = Conn(bc.server)
    assert text.call(b"get " + key + b"\r\n", b"END\r\n") == (
        b"VALUE " + key + b" 0 1\r\nv\r\nEND\r\n")
    text.close()


def test_data_type_and_vbucket_are_ignored(bc):
    bc.send(request(SET, b"k", b"v", storage_extras(), data_type=5, vbucket=9))
    ok(bc.read_response(), SET)
    bc.send(request(GET, b"k", data_type=1, vbucket=7, opaque=4))
    hit(bc.read_response(), GET, b"v", opaque=4)


# --- SET / ADD / REPLACE ------------------------------------------------------------------

def test_set_add_replace(bc):
    ok(bc.set(b"k", b"one"), SET)
    err(bc.set(b"k", b"two", opcode=ADD, opaque=1), ADD, KEY_EEXISTS, 1)
    ok(bc.set(b"new", b"n", opcode=ADD), ADD)
    ok(bc.set(b"k", b"three", flags=3, opcode=REPLACE), REPLACE)
    err(bc.set(b"missing", b"x", opcode=REPLACE, opaque=2), REPLACE, KEY_ENOENT, 2)
    hit(bc.get(b"k"), GET, b"three", flags=3)
    hit(bc.get(b"new"), GET, b"n")
    err(bc.get(b"missing"), GET, KEY_ENOENT)


@pytest.mark.parametrize("opcode", [SET, ADD, REPLACE])
def test_storage_with_cas(bc, opcode):
    """A non-zero CAS in the request turns SET, ADD and REPLACE alike into a compare-and-swap."""
    first = bc.set(b"k", b"v1")
    err(bc.set(b"k", b"x", cas=first.cas ^ 0xFFFF, opcode=opcode, opaque=1), opcode, KEY_EEXISTS, 1)
    err(bc.set(b"missing", b"x", cas=first.cas, opcode=opcode, opaque=2), opcode, KEY_ENOENT, 2)
    err(bc.get(b"missing"), GET, KEY_ENOENT)
    r = ok(bc.set(b"k", b"v2", flags=2, cas=first.cas, opcode=opcode), opcode)
    assert r.cas not in (0, first.cas)
    g = hit(bc.get(b"k"), GET, b"v2", flags=2)
    assert g.cas == r.cas
    # the old token is stale now
    err(bc.set(b"k", b"v3", cas=first.cas, opcode=opcode), opcode, KEY_EEXISTS)


def test_cas_changes_on_every_modification(bc):
    seen = [bc.set(b"k", b"1").cas]
    seen.append(bc.set(b"k", b"1").cas)
    seen.append(bc.call(APPEND, b"k", b"2").cas)
    seen.append(bc.call(PREPEND, b"k", b"0").cas)
    seen.append(bc.incr(b"k", 1).cas)
    seen.append(bc.incr(b"k", 1, opcode=DECREMENT).cas)
    assert 0 not in seen and len(set(seen)) == len(seen)
    assert bc.get(b"k").cas == seen[-1]
    assert bc.set(b"other", b"x").cas not in seen


@pytest.mark.parametrize("quiet,loud", [(SETQ, SET), (ADDQ, ADD), (REPLACEQ, REPLACE)])
def test_quiet_storage(bc, quiet, loud):
    """Quiet variants say nothing on success; failures are reported with the quiet opcode."""
    bc.set(b"exists", b"old")
    good_key = b"exists" if quiet == REPLACEQ else b"fresh"
    bc.send(request(quiet, good_key, b"new", storage_extras(9), opaque=1))
    bad = {SETQ: request(SETQ, b"exists", b"x", storage_extras(), cas=1, opaque=2),
           ADDQ: request(ADDQ, b"exists", b"x", storage_extras(), opaque=2),
           REPLACEQ: request(REPLACEQ, b"missing", b"x", storage_extras(), opaque=2)}[quiet]
    bc.send(bad + request(NOOP, opaque=3))
    got = bc.read_until_noop()
    assert len(got) == 1
    err(got[0], quiet, KEY_ENOENT if quiet == REPLACEQ else KEY_EEXISTS, 2)
    hit(bc.get(good_key), GET, b"new", flags=9)


def test_setq_cas_on_missing_key_is_reported(bc):
    bc.send(request(SETQ, b"missing", b"x", storage_extras(), cas=5, opaque=8) + request(NOOP))
    got = bc.read_until_noop()
    assert len(got) == 1
    err(got[0], SETQ, KEY_ENOENT, 8)


def test_set_expiry(bc):
    bc.set(b"short", b"a", exptime=1)
    bc.set(b"long", b"b", exptime=100)
    bc.set(b"never", b"c", exptime=0)
    bc.set(b"far", b"d", exptime=0xFFFFFFFF)  # an absolute time in 2106
    bc.set(b"past", b"e", exptime=2678400)  # 31 days: absolute, in 1970 -> already expired
    err(bc.get(b"past"), GET, KEY_ENOENT)
    hit(bc.get(b"far"), GET, b"d")
    hit(bc.get(b"short"), GET, b"a")
    debugtime(bc.server, 2)
    err(bc.get(b"short"), GET, KEY_ENOENT)
    hit(bc.get(b"long"), GET, b"b")
    debugtime(bc.server, 100)
    err(bc.get(b"long"), GET, KEY_ENOENT)
    hit(bc.get(b"never"), GET, b"c")


# --- DELETE -------------------------------------------------------------------------------

def test_delete(bc):
    bc.set(b"k", b"v")
    r = ok(bc.call(DELETE, b"k", opaque=4), DELETE, 4)
    assert (r.cas, r.body_len) == (0, 0)
    err(bc.get(b"k"), GET, KEY_ENOENT)
    err(bc.call(DELETE, b"k", opaque=5), DELETE, KEY_ENOENT, 5)


def test_delete_with_cas(bc):
    s = bc.set(b"k", b"v")
    err(bc.call(DELETE, b"k", cas=s.cas + 1), DELETE, KEY_EEXISTS)
    hit(bc.get(b"k"), GET, b"v")
    err(bc.call(DELETE, b"missing", cas=s.cas), DELETE, KEY_ENOENT)
    ok(bc.call(DELETE, b"k", cas=s.cas), DELETE)
    err(bc.get(b"k"), GET, KEY_ENOENT)


def test_deleteq(bc):
    bc.set(b"k", b"v")
    bc.send(request(DELETEQ, b"k", opaque=1) + request(DELETEQ, b"k", opaque=2) +
            request(NOOP))
    got = bc.read_until_noop()
    assert len(got) == 1
    err(got[0], DELETEQ, KEY_ENOENT, 2)


# --- INCREMENT / DECREMENT ----------------------------------------------------------------

def counter(r, opcode, value, opaque=0):
    ok(r, opcode, opaque)
    assert (r.extras_len, r.key_len, r.body_len) == (0, 0, 8), r
    assert r.cas != 0
    assert u64(r.value) == value, (u64(r.value), value)
    return r


def test_incr_decr_existing(bc):
    bc.set(b"n", b"10", flags=0xABCD)
    counter(bc.incr(b"n", 5, opaque=1), INCREMENT, 15, 1)
    counter(bc.incr(b"n", 3, opcode=DECREMENT), DECREMENT, 12)
    hit(bc.get(b"n"), GET, b"12", flags=0xABCD)  # flags are kept
    counter(bc.incr(b"n", 100, opcode=DECREMENT), DECREMENT, 0)  # stops at zero
    hit(bc.get(b"n"), GET, b"0 ", flags=0xABCD)  # rewritten in place, space-padded
    counter(bc.incr(b"n", 1, opcode=DECREMENT), DECREMENT, 0)
    bc.set(b"n", b"1000")
    counter(bc.incr(b"n", 991, opcode=DECREMENT), DECREMENT, 9)
    hit(bc.get(b"n"), GET, b"9   ")
    counter(bc.incr(b"n", 991), INCREMENT, 1000)
    hit(bc.get(b"n"), GET, b"1000")


def test_incr_creates_with_initial_value(bc):
    r = counter(bc.incr(b"c", 5, initial=10, exptime=0), INCREMENT, 10)
    g = hit(bc.get(b"c"), GET, b"10")  # flags 0, stored as decimal text
    assert g.cas == r.cas
    counter(bc.incr(b"c", 5, initial=10), INCREMENT, 15)
    counter(bc.incr(b"d", 3, initial=42, opcode=DECREMENT), DECREMENT, 42)
    counter(bc.incr(b"big", 1, initial=MAX_U64), INCREMENT, MAX_U64)
    hit(bc.get(b"big"), GET, b"18446744073709551615")
    # a CAS in the request does not stop the creation of a missing counter
    counter(bc.incr(b"e", 1, initial=7, cas=12345), INCREMENT, 7)


@pytest.mark.parametrize("opcode", [INCREMENT, DECREMENT])
def test_incr_missing_with_exptime_ffffffff_is_not_found(bc, opcode):
    err(bc.incr(b"absent", 1, initial=5, exptime=0xFFFFFFFF, opcode=opcode, opaque=6), opcode,
        KEY_ENOENT, 6)
    err(bc.get(b"absent"), GET, KEY_ENOENT)


def test_incr_wraps_at_64_bits(bc):
    bc.set(b"w", str(MAX_U64).encode())
    counter(bc.incr(b"w", 1), INCREMENT, 0)
    hit(bc.get(b"w"), GET, b"0" + b" " * 19)
    bc.set(b"w", str(MAX_U64 - 1).encode())
    counter(bc.incr(b"w", 3), INCREMENT, 1)
    bc.set(b"w", b"5")
    counter(bc.incr(b"w", MAX_U64), INCREMENT, 4)
    bc.set(b"w", b"5")
    counter(bc.incr(b"w", MAX_U64, opcode=DECREMENT), DECREMENT, 0)


@pytest.mark.parametrize("value", [b"abc", b"", b"-1", b"12a", b"0x10", b"1.5",
                                   b"18446744073709551616", b"99999999999999999999999"])
def test_incr_non_numeric(bc, value):
    bc.set(b"s", value)
    for opcode in (INCREMENT, DECREMENT):
        err(bc.incr(b"s", 1, opcode=opcode, opaque=3), opcode, DELTA_BADVAL, 3)
    hit(bc.get(b"s"), GET, value)


@pytest.mark.parametrize("value,result,stored", [
    (b"007", 8, b"8  "), (b"+5", 6, b"6 "), (b" 12", 13, b"13 "), (b"12 ", 13, b"13 "),
    (b"11111111111111111111", 11111111111111111112, b"11111111111111111112"),
])
def test_incr_lenient_numbers(bc, value, result, stored):
    bc.set(b"s", value)
    counter(bc.incr(b"s", 1), INCREMENT, result)
    hit(bc.get(b"s"), GET, stored)


def test_incr_with_cas(bc):
    s = bc.set(b"n", b"10")
    err(bc.incr(b"n", 1, cas=s.cas + 1), INCREMENT, KEY_EEXISTS)
    r = counter(bc.incr(b"n", 1, cas=s.cas), INCREMENT, 11)
    err(bc.incr(b"n", 1, cas=s.cas, opcode=DECREMENT), DECREMENT, KEY_EEXISTS)
    counter(bc.incr(b"n", 1, cas=r.cas, opcode=DECREMENT), DECREMENT, 10)


def test_quiet_incr_decr(bc):
    bc.set(b"n", b"10")
    bc.set(b"s", b"abc")
    bc.send(request(INCREMENTQ, b"n", extras=incr_extras(5), opaque=1) +
            request(DECREMENTQ, b"n", extras=incr_extras(1), opaque=2) +
            request(INCREMENTQ, b"new", extras=incr_extras(1, 7), opaque=3) +
            request(INCREMENTQ, b"s", extras=incr_extras(1), opaque=4) +
            request(DECREMENTQ, b"gone", extras=incr_extras(1, 0, 0xFFFFFFFF), opaque=5) +
            request(NOOP))
    got = bc.read_until_noop()
    assert len(got) == 2
    assert got[0] == (RES_MAGIC, INCREMENTQ, 0, 0, 0, DELTA_BADVAL, len(NON_NUMERIC), 4, 0, b"",
                      b"", NON_NUMERIC)
    err(got[1], DECREMENTQ, KEY_ENOENT, 5)
    hit(bc.get(b"n"), GET, b"14")
    hit(bc.get(b"new"), GET, b"7")


def test_incr_created_counter_expires(bc):
    counter(bc.incr(b"c", 1, initial=3, exptime=1), INCREMENT, 3)
    counter(bc.incr(b"keep", 1, initial=3, exptime=100), INCREMENT, 3)
    counter(bc.incr(b"past", 1, initial=3, exptime=2678400), INCREMENT, 3)
    err(bc.get(b"past"), GET, KEY_ENOENT)
    # the expiry only applies when the counter is created
    counter(bc.incr(b"keep", 1, initial=3, exptime=1), INCREMENT, 4)
    debugtime(bc.server, 2)
    err(bc.get(b"c"), GET, KEY_ENOENT)
    hit(bc.get(b"keep"), GET, b"4")


# --- APPEND / PREPEND ---------------------------------------------------------------------

def test_append_prepend(bc):
    bc.set(b"k", b"middle", flags=42)
    r = ok(bc.call(APPEND, b"k", b"-tail", opaque=1), APPEND, 1)
    assert r.cas != 0 and r.body_len == 0
    ok(bc.call(PREPEND, b"k", b"head-"), PREPEND)
    hit(bc.get(b"k"), GET, b"head-middle-tail", flags=42)
    ok(bc.call(APPEND, b"k", b""), APPEND)
    for opcode in (APPEND, PREPEND):
        err(bc.call(opcode, b"missing", b"x", opaque=2), opcode, NOT_STORED, 2)
    err(bc.get(b"missing"), GET, KEY_ENOENT)


def test_append_prepend_with_cas(bc):
    s = bc.set(b"k", b"v")
    for opcode in (APPEND, PREPEND):
        err(bc.call(opcode, b"k", b"x", cas=s.cas + 1), opcode, KEY_EEXISTS)
    r = ok(bc.call(APPEND, b"k", b"a", cas=s.cas), APPEND)
    ok(bc.call(PREPEND, b"k", b"p", cas=r.cas), PREPEND)
    hit(bc.get(b"k"), GET, b"pva")
    err(bc.call(APPEND, b"missing", b"x", cas=5), APPEND, NOT_STORED)


def test_quiet_append_prepend(bc):
    bc.set(b"k", b"v")
    bc.send(request(APPENDQ, b"k", b"a", opaque=1) + request(PREPENDQ, b"k", b"p", opaque=2) +
            request(APPENDQ, b"missing", b"x", opaque=3) +
            request(PREPENDQ, b"missing", b"x", opaque=4) + request(NOOP))
    got = bc.read_until_noop()
    assert len(got) == 2
    err(got[0], APPENDQ, NOT_STORED, 3)
    err(got[1], PREPENDQ, NOT_STORED, 4)
    hit(bc.get(b"k"), GET, b"pva")


# --- TOUCH / GAT / GATQ / GATK / GATKQ ----------------------------------------------------

def test_touch(bc):
    s = bc.set(b"k", b"value", flags=77)
    r = bc.call(TOUCH, b"k", extras=exptime_extras(100), opaque=1)
    # flags only: no key, no value
    assert r == (RES_MAGIC, TOUCH, 0, 4, 0, SUCCESS, 4, 1, s.cas, b"\x00\x00\x00\x4d", b"", b"")
    err(bc.call(TOUCH, b"missing", extras=exptime_extras(100), opaque=2), TOUCH, KEY_ENOENT, 2)
    hit(bc.get(b"k"), GET, b"value", flags=77)
    assert bc.get(b"k").cas == s.cas  # touch keeps the CAS


def test_gat_gatk(bc):
    s = bc.set(b"k", b"value", flags=5)
    r = hit(bc.call(GAT, b"k", extras=exptime_extras(100), opaque=1), GAT, b"value", 5, opaque=1)
    assert r.cas == s.cas
    r = hit(bc.call(GATK, b"k", extras=exptime_extras(100)), GATK, b"value", 5, key=b"k")
    assert r.cas == s.cas
    err(bc.call(GAT, b"missing", extras=exptime_extras(0), opaque=2), GAT, KEY_ENOENT, 2)
    assert bc.call(GATK, b"missing", extras=exptime_extras(0), opaque=3) == (
        RES_MAGIC, GATK, 7, 0, 0, KEY_ENOENT, 7, 3, 0, b"", b"missing", b"")


def test_quiet_gat(bc):
    bc.set(b"k", b"v", flags=2)
    bc.send(request(GATQ, b"missing", extras=exptime_extras(0), opaque=1) +
            request(GATKQ, b"missing", extras=exptime_extras(0), opaque=2) +
            request(GATQ, b"k", extras=exptime_extras(0), opaque=3) +
            request(GATKQ, b"k", extras=exptime_extras(0), opaque=4) + request(NOOP))
    got = bc.read_until_noop()
    assert len(got) == 2
    hit(got[0], GATQ, b"v", 2, opaque=3)
    hit(got[1], GATKQ, b"v", 2, key=b"k", opaque=4)


def test_touch_and_gat_set_expiry(bc):
    for k in (b"t", b"g", b"keep"):
        bc.set(k, b"v")
    ok(bc.call(TOUCH, b"t", extras=exptime_extras(1)), TOUCH)
    ok(bc.call(GAT, b"g", extras=exptime_extras(1)), GAT)
    ok(bc.call(GATK, b"keep", extras=exptime_extras(0xFFFFFFFF)), GATK)  # absolute, 2106
    bc.set(b"past", b"v")
    ok(bc.call(TOUCH, b"past", extras=exptime_extras(2678400)), TOUCH)  # absolute, 1970
    err(bc.get(b"past"), GET, KEY_ENOENT)
    hit(bc.get(b"t"), GET, b"v")
    debugtime(bc.server, 2)
    err(bc.get(b"t"), GET, KEY_ENOENT)
    err(bc.get(b"g"), GET, KEY_ENOENT)
    hit(bc.get(b"keep"), GET, b"v")


# --- QUIT / FLUSH / NOOP / VERSION --------------------------------------------------------

def test_quit_replies_then_closes(bc):
    bc.send(request(QUIT, opaque=9) + request(SET, b"after", b"x", storage_extras()))
    assert bc.read_until_close() == HEADER.pack(RES_MAGIC, QUIT, 0, 0, 0, 0, 0, 9, 0)
    other = BinConn(bc.server)
    err(other.get(b"after"), GET, KEY_ENOENT)  # nothing after QUIT ran
    other.close()


def test_quitq_closes_silently(bc):
    bc.send(request(QUITQ, opaque=9) + request(SET, b"after", b"x", storage_extras()))
    assert bc.read_until_close() == b""
    other = BinConn(bc.server)
    err(other.get(b"after"), GET, KEY_ENOENT)
    other.close()


def test_flush(bc):
    bc.set(b"a", b"1")
    r = bc.call(FLUSH, opaque=3)
    assert r == (RES_MAGIC, FLUSH, 0, 0, 0, SUCCESS, 0, 3, 0, b"", b"", b"")
    err(bc.get(b"a"), GET, KEY_ENOENT)
    bc.set(b"a", b"1")
    ok(bc.call(FLUSH, extras=exptime_extras(0)), FLUSH)  # 0 = now
    err(bc.get(b"a"), GET, KEY_ENOENT)
    bc.set(b"a", b"1")
    bc.send(request(FLUSHQ, opaque=4) + request(FLUSHQ, extras=exptime_extras(0)) +
            request(NOOP))
    assert bc.read_until_noop() == []
    err(bc.get(b"a"), GET, KEY_ENOENT)
    ok(bc.set(b"b", b"2"), SET)  # usable right away
    hit(bc.get(b"b"), GET, b"2")


def test_delayed_flush(bc):
    bc.set(b"a", b"1")
    ok(bc.call(FLUSH, extras=exptime_extras(2)), FLUSH)
    hit(bc.get(b"a"), GET, b"1")
    debugtime(bc.server, 3)
    err(bc.get(b"a"), GET, KEY_ENOENT)


def test_noop_and_version(bc):
    assert bc.call(NOOP, opaque=0x01020304) == (RES_MAGIC, NOOP, 0, 0, 0, SUCCESS, 0, 0x01020304,
                                                0, b"", b"", b"")
    assert bc.call(VERSION, opaque=2) == (RES_MAGIC, VERSION, 0, 0, 0, SUCCESS, 6, 2, 0, b"", b"",
                                          b"1.6.18")


def test_mixed_pipeline(bc):
    """Replies come back in request order; quiet successes leave no gap."""
    bc.send(request(SETQ, b"a", b"1", storage_extras(), opaque=1) +
            request(GET, b"a", opaque=2) +
            request(VERSION, opaque=3) +
            request(ADDQ, b"a", b"x", storage_extras(), opaque=4) +
            request(INCREMENT, b"a", extras=incr_extras(2), opaque=5) +
            request(GETKQ, b"nope", opaque=6) +
            request(DELETE, b"a", opaque=7) +
            request(NOOP, opaque=8))
    got = bc.read_until_noop()
    assert [(r.opcode, r.status, r.opaque) for r in got] == [
        (GET, SUCCESS, 2), (VERSION, SUCCESS, 3), (ADDQ, KEY_EEXISTS, 4),
        (INCREMENT, SUCCESS, 5), (DELETE, SUCCESS, 7)]
    assert got[0].value == b"1" and u64(got[3].value) == 3


# --- STAT ---------------------------------------------------------------------------------

def read_stat_packets(c):
    out = []
    while True:
        r = c.read_response()
        out.append(r)
        if r.status != SUCCESS or (r.key_len == 0 and r.body_len == 0):
            return out


def text_stats(server, group=b""):
    c = Conn(server)
    try:
        reply = c.call(b"stats" + (b" " + group if group else b"") + b"\r\n", b"END\r\n")
    finally:
        c.close()
    return [line.split(b" ", 2)[1:] for line in reply.split(b"\r\n") if line.startswith(b"STAT ")]


def test_stat_general_packet_format(bc):
    bc.send(request(STAT, opaque=0x1234))
    packets = read_stat_packets(bc)
    terminator = packets.pop()
    assert terminator == (RES_MAGIC, STAT, 0, 0, 0, SUCCESS, 0, 0x1234, 0, b"", b"", b"")
    for r in packets:
        assert (r.magic, r.opcode, r.status, r.extras_len, r.data_type, r.opaque, r.cas) == (
            RES_MAGIC, STAT, SUCCESS, 0, 0, 0x1234, 0), r
        assert r.key_len > 0 and r.body_len == r.key_len + len(r.value)
    stats = {r.key: r.value for r in packets}
    assert stats[b"pid"] == str(bc.server.proc.pid).encode()
    assert stats[b"version"] == b"1.6.18"
    # the same statistics, in the same order, as the text protocol's "stats"
    assert [r.key for r in packets] == [name for name, _ in text_stats(bc.server)]


def test_stat_settings_and_items(bc):
    bc.set(b"item", b"v")
    for group in (b"settings", b"items", b"slabs"):
        require_stats_group(bc.server, group)
        bc.send(request(STAT, group, opaque=5))
        packets = read_stat_packets(bc)
        assert packets.pop() == (RES_MAGIC, STAT, 0, 0, 0, SUCCESS, 0, 5, 0, b"", b"", b"")
        assert [r.key for r in packets] == [name for name, _ in text_stats(bc.server, group)]
    assert bc.stats(b"settings")["item_size_max"] == "1048576"
    assert int(bc.stats(b"items")["items:1:number"]) >= 1


def test_stat_reset(bc):
    bc.set(b"a", b"1")
    bc.get(b"a")
    assert int(bc.stats()["get_hits"]) >= 1
    bc.send(request(STAT, b"reset", opaque=6))
    assert read_stat_packets(bc) == [(RES_MAGIC, STAT, 0, 0, 0, SUCCESS, 0, 6, 0, b"", b"", b"")]
    stats = bc.stats()
    assert (stats["get_hits"], stats["cmd_get"], stats["total_items"]) == ("0", "0", "0")
    assert int(stats["curr_items"]) >= 1


@pytest.mark.parametrize("group", [b"bogus", b"conns-x", b"items x", b"extstore"])
def test_stat_unknown_group_is_not_found(bc, group):
    bc.send(request(STAT, group, opaque=7))
    assert read_stat_packets(bc) == [(RES_MAGIC, STAT, 0, 0, 0, KEY_ENOENT, 9, 7, 0, b"", b"",
                                      b"Not found")]
    bc.assert_quiet()  # the connection stays usable


def test_stat_reset_is_prefix_matched(bc):
    """memcached compares "reset" and "settings" with strncmp on their own length."""
    bc.set(b"a", b"1")
    bc.send(request(STAT, b"resetting", opaque=8))
    assert read_stat_packets(bc) == [(RES_MAGIC, STAT, 0, 0, 0, SUCCESS, 0, 8, 0, b"", b"", b"")]
    assert bc.stats()["total_items"] == "0"


def test_stat_settings_is_prefix_matched(bc):
    require_stats_group(bc.server, b"settings")
    assert list(bc.stats(b"settingsx")) == list(bc.stats(b"settings"))


def test_stat_detail_on_dump_off(bc):
    """"detail on"/"detail off" answer only the terminator; "detail dump" is one stat named
    "detailed" holding the text dump; anything else after "detail" is not found."""
    terminator = (RES_MAGIC, STAT, 0, 0, 0, SUCCESS, 0, 9, 0, b"", b"", b"")
    bc.send(request(STAT, b"detail on", opaque=9))
    assert read_stat_packets(bc) == [terminator]
    bc.set(b"dpfx:a", b"1")
    bc.get(b"dpfx:a")
    bc.get(b"dpfx:missing")
    bc.send(request(STAT, b"detail dump", opaque=9))
    dump, end = read_stat_packets(bc)
    assert end == terminator
    assert (dump.status, dump.opaque, dump.key) == (SUCCESS, 9, b"detailed")
    assert b"PREFIX dpfx get 2 hit 1 set 1 del 0\r\n" in dump.value
    assert dump.value.endswith(b"END\r\n")
    text = Conn(bc.server)
    try:  # the same dump as the text protocol's
        assert text.call(b"stats detail dump\r\n", b"END\r\n") == dump.value
    finally:
        text.close()
    bc.send(request(STAT, b"detail off", opaque=9))
    assert read_stat_packets(bc) == [terminator]
    bc.get(b"dpfx:a")  # not recorded once off
    bc.send(request(STAT, b"detail dump", opaque=9))
    assert b"PREFIX dpfx get 2 hit 1" in read_stat_packets(bc)[0].value
    for bad in (b"detail bogus", b"details"):
        bc.send(request(STAT, bad, opaque=9))
        assert read_stat_packets(bc) == [(RES_MAGIC, STAT, 0, 0, 0, KEY_ENOENT, 9, 9, 0, b"",
                                          b"", b"Not found")]
    bc.assert_quiet()


def test_get_flushed_counts_binary_lookups(server_factory):
    # Without the background reclaim of memcached's LRU maintainer and of the crawlers.
    bc = BinConn(server_factory("-o", "no_lru_crawler,no_lru_maintainer"))
    for key in (b"f1", b"f2", b"f3", b"f4"):
        bc.set(key, b"1")
    ok(bc.call(FLUSH), FLUSH)
    before = int(bc.stats()["get_flushed"])
    err(bc.get(b"f1"), GET, KEY_ENOENT)
    err(bc.call(TOUCH, b"f2", extras=exptime_extras(100)), TOUCH, KEY_ENOENT)
    r = bc.call(GAT, b"f3", extras=exptime_extras(100))
    assert (r.opcode, r.status) == (GAT, KEY_ENOENT)
    bc.set(b"f4", b"2" * 3000)  # a set meets the old item too (allocating in another class)
    err(bc.get(b"f1"), GET, KEY_ENOENT)  # dropped already: not counted again
    assert int(bc.stats()["get_flushed"]) - before == 4
    bc.assert_quiet()
    bc.close()


# --- text and binary side by side ---------------------------------------------------------

def test_protocol_is_chosen_per_connection(bc):
    text = Conn(bc.server)
    binary2 = BinConn(bc.server)
    try:
        assert text.call(b"set shared 3 0 4\r\nfrom\r\n") == b"STORED\r\n"
        hit(binary2.get(b"shared"), GET, b"from", flags=3)
        ok(bc.set(b"shared", b"binary", flags=4), SET)
        assert text.call(b"get shared\r\n", b"END\r\n") == (
            b"VALUE shared 4 6\r\nbinary\r\nEND\r\n")
        assert text.call(b"version\r\n") == b"VERSION 1.6.18\r\n"
        assert binary2.call(VERSION).value == b"1.6.18"
    finally:
        text.close()
        binary2.close()


def test_unix_socket(module_server_factory):
    server = module_server_factory(unix=True)
    c = BinConn(server)
    try:
        ok(c.set(b"u", b"unix", flags=1), SET)
        hit(c.get(b"u", GETK), GETK, b"unix", 1, key=b"u")
        assert c.call(VERSION).value == b"1.6.18"
    finally:
        c.close()
