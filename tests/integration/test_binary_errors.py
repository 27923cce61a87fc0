"""Binary protocol: malformed packets, limits, unknown opcodes and protocol negotiation.

Expectations probed against Debian's memcached 1.6.18 (docs/design/memcached-binary-behaviour.md).
The rules that matter to an implementation:
- the first byte of a connection picks the protocol (0x80 = binary) for its whole life;
- a header whose magic is not 0x80 closes the connection without a reply;
- key length > total body, or key + extras > total body: "Unknown command" (0x81), then close;
- a key over 250 bytes, or extras/key/body lengths an opcode does not accept:
  "Invalid arguments" (0x04), then close;
- too-large values: "Too large." (0x03), the value is read and dropped, the stream goes on.
"""
import pytest

from conftest import IS_MEMCACHED, Conn, memcached_only_difference
from binary_helpers import (
    ADD, APPEND, DECREMENTQ, DELETE, DELETEQ, E2BIG, EINVAL, ENOMEM, FLUSH, FLUSHQ, GAT, GATK,
    GATKQ, GATQ, GET, GETK, GETKQ, GETQ, INCREMENT, KEY_ENOENT, NOOP, NOT_STORED, PREPEND,
    PREPENDQ, QUIT, QUITQ, REPLACE, REPLACEQ, RES_MAGIC, SASL_AUTH, SASL_LIST_MECHS, SASL_STEP,
    SET, SETQ, STAT, SUCCESS, TOUCH, UNKNOWN_COMMAND, VERBOSITY, VERSION, BinConn, HEADER,
    error, exptime_extras, incr_extras, request, storage_extras)

E4 = exptime_extras(0)
E8 = storage_extras()
E20 = incr_extras()
MAX_VALUE = 1048516  # -I 1m, 1-byte key, flags 0 (see test_limits.py)


@pytest.fixture
def bc(shared):
    c = BinConn(shared, timeout=10)
    assert c.call(FLUSH).status == SUCCESS
    yield c
    c.close()


def assert_alive(server):
    """Another connection is still served (the server did not crash)."""
    c = BinConn(server)
    assert c.call(VERSION).value == b"1.6.18"
    c.close()


# --- validation: what each opcode accepts -------------------------------------------------

INVALID = [
    ("get-extras", request(GET, b"k", extras=E4)),
    ("get-no-key", request(GET)),
    ("get-value", request(GET, b"k", b"v")),
    ("getq-no-key", request(GETQ)),
    ("getk-extras", request(GETK, b"k", extras=E4)),
    ("getkq-value", request(GETKQ, b"k", b"v")),
    ("set-no-extras", request(SET, b"k", b"v")),
    ("set-extras-4", request(SET, b"k", b"v", E4)),
    ("set-extras-12", request(SET, b"k", b"v", E8 + E4)),
    ("set-no-key", request(SET, b"", b"v", E8)),
    ("setq-no-key", request(SETQ, b"", b"v", E8)),
    ("add-no-extras", request(ADD, b"k", b"v")),
    ("replaceq-extras-4", request(REPLACEQ, b"k", b"v", E4)),
    ("delete-extras", request(DELETE, b"k", extras=E4)),
    ("delete-value", request(DELETE, b"k", b"v")),
    ("delete-no-key", request(DELETE)),
    ("deleteq-no-key", request(DELETEQ)),
    ("incr-no-extras", request(INCREMENT, b"k")),
    ("incr-extras-8", request(INCREMENT, b"k", extras=E8)),
    ("incr-value", request(INCREMENT, b"k", b"v", extras=E20)),
    ("incr-no-key", request(INCREMENT, extras=E20)),
    ("decrq-no-extras", request(DECREMENTQ, b"k")),
    ("append-extras", request(APPEND, b"k", b"v", E8)),
    ("append-no-key", request(APPEND, b"", b"v")),
    ("prependq-extras", request(PREPENDQ, b"k", b"v", E8)),
    ("quit-key", request(QUIT, b"k")),
    ("quit-extras", request(QUIT, extras=E4)),
    ("quitq-value", request(QUITQ, value=b"x")),
    ("flush-extras-8", request(FLUSH, extras=E8)),
    ("flush-key", request(FLUSH, b"k")),
    ("flush-value", request(FLUSH, value=b"v")),
    ("flush-extras-4-value", request(FLUSH, value=b"v", extras=E4)),
    ("flushq-extras-8", request(FLUSHQ, extras=E8)),
    ("noop-key", request(NOOP, b"k")),
    ("noop-value", request(NOOP, value=b"v")),
    ("noop-extras", request(NOOP, extras=E4)),
    ("version-key", request(VERSION, b"k")),
    ("version-value", request(VERSION, value=b"v")),
    ("stat-extras", request(STAT, extras=E4)),
    ("touch-no-extras", request(TOUCH, b"k")),
    ("touch-no-key", request(TOUCH, extras=E4)),
    ("gat-extras-8", request(GAT, b"k", extras=E8)),
    ("gatq-no-extras", request(GATQ, b"k")),
    ("gatk-no-key", request(GATK, extras=E4)),
    ("gatkq-no-key", request(GATKQ, extras=E4)),
    ("sasl-list-mechs-key", request(SASL_LIST_MECHS, b"k")),
    ("sasl-auth-no-key", request(SASL_AUTH)),
    ("sasl-step-no-key", request(SASL_STEP, value=b"x")),
    ("key-251-get", request(GET, b"k" * 251)),
    ("key-251-set", request(SET, b"k" * 251, b"v", E8)),
    ("key-251-setq", request(SETQ, b"k" * 251, b"v", E8)),
    ("key-251-delete", request(DELETE, b"k" * 251)),
    ("key-251-incr", request(INCREMENT, b"k" * 251, extras=E20)),
    ("key-251-touch", request(TOUCH, b"k" * 251, extras=E4)),
    ("key-251-unknown-opcode", request(0x30, b"k" * 251)),
    ("key-16360-get", request(GET, b"k" * 16360)),  # header + key = 16 KiB, memcached's buffer
]


@pytest.mark.parametrize("packet", [p for _, p in INVALID], ids=[n for n, _ in INVALID])
def test_invalid_arguments_close_the_connection(bc, packet):
    """The reply carries the request's opcode (quiet ones too) and opaque; nothing after the
    bad packet is executed."""
    opcode = packet[1]
    packet = packet[:12] + b"\x00\x00\x00\x2a" + packet[16:]  # opaque 42
    bc.send(packet + request(SET, b"after", b"x", E8) + request(NOOP))
    assert bc.read_until_close() == error(opcode, EINVAL, 42)
    other = BinConn(bc.server)
    assert other.get(b"after").status == KEY_ENOENT
    other.close()


@pytest.mark.parametrize("key_len", [16361, 65535])
def test_key_larger_than_read_buffer(bc, key_len):
    """memcached needs header + extras + key in its 16 KiB read buffer: with more it closes the
    connection without a reply (accepted here: an "Invalid arguments" reply before the close)."""
    try:
        bc.send(request(GET, b"k" * key_len, opaque=1) + request(NOOP))
    except (BrokenPipeError, ConnectionResetError):
        return assert_alive(bc.server)
    assert bc.read_until_close() in (b"", error(GET, EINVAL, 1))
    assert_alive(bc.server)


@pytest.mark.parametrize("packet", [
    request(GET, b"key", body_len=2),
    request(GET, b"k", body_len=0),
    request(SET, b"k", b"", E8, body_len=8),
    request(NOOP, extras=E4, body_len=3),
    request(0x30, b"key", body_len=0),
], ids=["get", "get-empty-body", "set", "noop-extras", "unknown-opcode"])
def test_key_and_extras_longer_than_body_close_the_connection(bc, packet):
    bc.send(packet + request(NOOP))
    assert bc.read_until_close() == error(packet[1], UNKNOWN_COMMAND)


def test_accepted_edge_cases(bc):
    # empty values are fine for SET and APPEND; a 250-byte key is the longest
    bc.send(request(SET, b"k", b"", E8) + request(APPEND, b"k", b"") +
            request(SET, b"k" * 250, b"v", E8) + request(NOOP))
    assert [r.status for r in bc.read_until_noop()] == [SUCCESS] * 3
    bc.assert_quiet()


def test_touch_gat_stat_leave_unexpected_value_in_stream(bc):
    """TOUCH/GAT*/STAT do not check the total body length: bytes past the extras and key are
    read as the next packet. Here those bytes are a whole NOOP request, which gets answered."""
    bc.set(b"k", b"v")
    noop = request(NOOP, opaque=77)
    bc.send(request(TOUCH, b"k", extras=E4, body_len=4 + 1 + len(noop), opaque=1) + noop)
    assert bc.read_response()[:2] == (RES_MAGIC, TOUCH)
    assert bc.read_response()[:8] == (RES_MAGIC, NOOP, 0, 0, 0, SUCCESS, 0, 77)
    bc.send(request(GATK, b"k", extras=E4, body_len=4 + 1 + len(noop), opaque=2) + noop)
    assert bc.read_response().value == b"v"
    assert bc.read_response().opaque == 77
    bc.send(request(STAT, b"", body_len=len(noop)) + noop)  # general stats, then the NOOP
    while bc.read_response().body_len:
        pass
    assert bc.read_response().opaque == 77


# --- bad magic, protocol negotiation ------------------------------------------------------

@pytest.mark.parametrize("magic", [0x81, 0x00, 0x7F, 0xFF])
def test_bad_magic_closes_without_reply(bc, magic):
    bc.set(b"k", b"v")
    bc.send(request(GET, b"k", magic=magic))
    assert bc.read_until_close() == b""
    assert_alive(bc.server)


def test_text_after_binary_is_bad_magic(bc):
    assert bc.call(NOOP).status == SUCCESS
    # fewer than 24 bytes: still waiting for a header
    bc.send(b"version\r\n")
    assert bc.nothing_pending()
    bc.send(b"get some-long-key\r\n")  # 28 bytes: a header with magic 'v'
    assert bc.read_until_close() == b""


def test_binary_on_a_text_connection_is_a_text_line(shared):
    c = Conn(shared)
    try:
        assert c.call(b"version\r\n") == b"VERSION 1.6.18\r\n"
        # NOOP's opcode byte is "\n": the text parser sees the line "\x80" -> ERROR
        c.send(request(NOOP)[:2])
        assert c.read_line() == b"ERROR\r\n"
        assert c.call(b"version\r\n") == b"VERSION 1.6.18\r\n"
    finally:
        c.close()


def test_first_byte_decides_per_connection(shared):
    text = Conn(shared)
    binary = BinConn(shared)
    try:
        text.send(b"set k 0 0 1\r\n")  # interleave: half a text command, then binary traffic
        assert binary.set(b"b", b"1").status == SUCCESS
        text.send(b"t\r\n")
        assert text.read_line() == b"STORED\r\n"
        assert binary.get(b"k").value == b"t"
        assert text.call(b"get b\r\n", b"END\r\n") == b"VALUE b 0 1\r\n1\r\nEND\r\n"
    finally:
        text.close()
        binary.close()


# --- truncated packets --------------------------------------------------------------------

@pytest.mark.parametrize("cut", [1, 10, 23, 24, 30, 33, 34, 36])
def test_packet_in_pieces(bc, cut):
    packet = request(SET, b"piece", b"hello", storage_extras(7), opaque=9)
    bc.send(packet[:cut])
    assert bc.nothing_pending(0.05)
    bc.send(packet[cut:])
    r = bc.read_response()
    assert (r.opcode, r.status, r.opaque) == (SET, SUCCESS, 9)
    assert bc.get(b"piece").value == b"hello"


def test_byte_by_byte(bc):
    data = request(SET, b"slow", b"value", E8, opaque=1) + request(GETK, b"slow", opaque=2)
    for i in range(len(data)):
        bc.send(data[i:i + 1])
    assert bc.read_response().opaque == 1
    r = bc.read_response()
    assert (r.key, r.value, r.opaque) == (b"slow", b"value", 2)


@pytest.mark.parametrize("cut", [10, 24, 30, 34])
def test_client_closes_mid_packet(shared, cut):
    c = BinConn(shared)
    c.send(request(SET, b"half", b"hello", E8)[:cut])
    c.close()
    other = BinConn(shared)
    assert other.get(b"half").status == KEY_ENOENT
    other.close()


# --- too large, out of memory -------------------------------------------------------------

def test_value_size_limit(bc):
    assert bc.set(b"k", b"v" * MAX_VALUE).status == SUCCESS
    assert bc.get(b"k").value == b"v" * MAX_VALUE
    assert bc.set(b"k", b"w" * (MAX_VALUE + 1), opaque=3) == (
        RES_MAGIC, SET, 0, 0, 0, E2BIG, 10, 3, 0, b"", b"", b"Too large.")
    assert bc.set(b"f", b"v" * (MAX_VALUE - 4), flags=1).status == SUCCESS  # flags cost 4 bytes
    assert bc.set(b"f", b"v" * (MAX_VALUE - 3), flags=1).status == E2BIG


def test_too_large_value_is_swallowed(bc):
    big = b"x" * (2 * 1024 * 1024)
    bc.send(request(SET, b"big", big, E8, opaque=1) + request(SETQ, b"big", big, E8, opaque=2) +
            request(GETK, b"big", opaque=3) + request(NOOP, opaque=4))
    assert bc.read_exactly(3 * 24 + 2 * 10 + 3) == (
        error(SET, E2BIG, 1) + error(SETQ, E2BIG, 2) +
        HEADER.pack(RES_MAGIC, GETK, 3, 0, 0, KEY_ENOENT, 3, 3, 0) + b"big")
    assert bc.read_response().opcode == NOOP


def test_too_large_set_deletes_old_value_others_keep_it(bc):
    big = b"x" * (MAX_VALUE + 1)
    bc.set(b"k", b"old")
    for opcode in (ADD, REPLACE):
        assert bc.set(b"k", big, opcode=opcode).status == E2BIG
    for opcode in (APPEND, PREPEND):
        assert bc.call(opcode, b"k", big).status == E2BIG
    assert bc.get(b"k").value == b"old"
    assert bc.set(b"k", big).status == E2BIG
    assert bc.get(b"k").status == KEY_ENOENT


def test_append_too_large(bc):
    big = b"x" * (MAX_VALUE + 1)
    bc.set(b"k", b"old")
    for opcode in (APPEND, PREPEND):
        r = bc.call(opcode, b"k", big, opaque=5)
        assert r == (RES_MAGIC, opcode, 0, 0, 0, E2BIG, 10, 5, 0, b"", b"", b"Too large.")
    # a result over the limit (each part fits) is "Not stored."
    bc.set(b"k", b"v" * 1000000)
    r = bc.call(APPEND, b"k", b"v" * 100000)
    assert (r.status, r.value) == (NOT_STORED, b"Not stored.")
    assert len(bc.get(b"k").value) == 1000000


def test_out_of_memory(server_factory):
    server = server_factory("-M", "-m", "8")
    c = BinConn(server)
    value = b"x" * 10000
    for i in range(2000):
        r = c.set(b"k%d" % i, value, opaque=i)
        if r.status != SUCCESS:
            break
    assert r == (RES_MAGIC, SET, 0, 0, 0, ENOMEM, 29, i, 0, b"", b"",
                 b"Out of memory allocating item")
    # quiet variants report it too, and the failed SET dropped the old value
    c.send(request(SETQ, b"k0", value, E8, opaque=7) + request(NOOP))
    got = c.read_until_noop()
    assert [(g.opcode, g.status, g.opaque, g.value) for g in got] == [
        (SETQ, ENOMEM, 7, b"Out of memory allocating item")]
    assert c.get(b"k0").status == KEY_ENOENT
    c.close()


# --- unknown opcodes ----------------------------------------------------------------------

UNKNOWN = [VERBOSITY, 0x1F, 0x25, 0x30, 0x3D, 0x40, 0xFE, 0xFF]


@pytest.mark.parametrize("opcode", UNKNOWN + [SASL_LIST_MECHS],
                         ids=["%#04x" % o for o in UNKNOWN + [SASL_LIST_MECHS]])
def test_unknown_opcode_without_body(bc, opcode):
    bc.send(request(opcode, opaque=11) + request(VERSION, opaque=12))
    assert bc.read_exactly(24 + 15) == error(opcode, UNKNOWN_COMMAND, 11)
    r = bc.read_response()
    assert (r.opcode, r.value, r.opaque) == (VERSION, b"1.6.18", 12)


@pytest.mark.parametrize("opcode", [0x30, 0xFE, VERBOSITY])
def test_unknown_opcode_with_value_only_body(bc, opcode):
    """No key, no extras: memcached skips exactly the body and goes on."""
    bc.send(request(opcode, value=b"some bytes\r\n", opaque=1) + request(VERSION, opaque=2))
    assert bc.read_exactly(24 + 15) == error(opcode, UNKNOWN_COMMAND, 1)
    assert bc.read_response().value == b"1.6.18"


def test_sasl_auth_without_sasl(bc):
    """SASL_AUTH/STEP with a mechanism: "Unknown command", the data after the key is skipped."""
    for opcode in (SASL_AUTH, SASL_STEP):
        bc.send(request(opcode, b"PLAIN", b"\x00user\x00pass", opaque=3) +
                request(VERSION, opaque=4))
        assert bc.read_exactly(24 + 15) == error(opcode, UNKNOWN_COMMAND, 3)
        assert bc.read_response().value == b"1.6.18"


@memcached_only_difference("memcached skips body_len bytes after the key and extras of an "
                           "unknown opcode, eating the start of the next request")
@pytest.mark.parametrize("opcode,key,extras,value", [
    (VERBOSITY, b"", exptime_extras(1), b""),
    (0x30, b"abc", b"", b""),
    (0x30, b"abc", b"", b"defg"),
    (0xFE, b"key", storage_extras(), b"value"),
])
def test_unknown_opcode_body_is_skipped(bc, opcode, key, extras, value):
    bc.send(request(opcode, key, value, extras, opaque=5) + request(VERSION, opaque=6))
    assert bc.read_exactly(24 + 15) == error(opcode, UNKNOWN_COMMAND, 5)
    r = bc.read_response()
    assert (r.opcode, r.status, r.value, r.opaque) == (VERSION, SUCCESS, b"1.6.18", 6)
    bc.assert_quiet()


@pytest.mark.skipif(not IS_MEMCACHED, reason="memcached quirk; cachet skips exactly the body")
def test_unknown_opcode_with_key_eats_following_bytes(bc):
    """memcached 1.6.18: the skip is body_len bytes counted after the key, so a 3-byte key eats
    the first 3 bytes of the next request (the counterpart of the test above)."""
    bc.send(request(0x30, b"abc", opaque=5) + b"PAD" + request(VERSION, opaque=6))
    assert bc.read_exactly(24 + 15) == error(0x30, UNKNOWN_COMMAND, 5)
    assert bc.read_response().value == b"1.6.18"
