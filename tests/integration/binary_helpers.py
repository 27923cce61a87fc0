"""A tiny raw client for the memcached binary protocol (not a test module itself).

Request header (24 bytes, big-endian): magic 0x80, opcode, key length (u16), extras length (u8),
data type (u8), vbucket (u16), total body length (u32), opaque (u32), cas (u64); then
extras + key + value. Responses have magic 0x81 and a status (u16) where the vbucket was.
"""
import collections
import select
import ssl
import struct

from conftest import Conn

HEADER = struct.Struct(">BBHBBHIIQ")
REQ_MAGIC = 0x80
RES_MAGIC = 0x81

# opcodes
GET, SET, ADD, REPLACE, DELETE, INCREMENT, DECREMENT, QUIT = range(0x00, 0x08)
FLUSH, GETQ, NOOP, VERSION, GETK, GETKQ, APPEND, PREPEND = range(0x08, 0x10)
STAT, SETQ, ADDQ, REPLACEQ, DELETEQ, INCREMENTQ, DECREMENTQ, QUITQ = range(0x10, 0x18)
FLUSHQ, APPENDQ, PREPENDQ, VERBOSITY, TOUCH, GAT, GATQ = range(0x18, 0x1F)
SASL_LIST_MECHS, SASL_AUTH, SASL_STEP = 0x20, 0x21, 0x22
GATK, GATKQ = 0x23, 0x24

# statuses
SUCCESS = 0x00
KEY_ENOENT = 0x01
KEY_EEXISTS = 0x02
E2BIG = 0x03
EINVAL = 0x04
NOT_STORED = 0x05
DELTA_BADVAL = 0x06
AUTH_ERROR = 0x20
UNKNOWN_COMMAND = 0x81
ENOMEM = 0x82

# the error bodies memcached 1.6.18 sends with each status
ERROR_BODY = {
    KEY_ENOENT: b"Not found",
    KEY_EEXISTS: b"Data exists for key.",
    E2BIG: b"Too large.",
    EINVAL: b"Invalid arguments",
    NOT_STORED: b"Not stored.",
    DELTA_BADVAL: b"Non-numeric server-side value for incr or decr",
    UNKNOWN_COMMAND: b"Unknown command",
    ENOMEM: b"Out of memory",
    AUTH_ERROR: b"Auth failure.",
}

Response = collections.namedtuple(
    "Response", "magic opcode key_len extras_len data_type status body_len opaque cas "
                "extras key value")


def request(opcode, key=b"", value=b"", extras=b"", cas=0, opaque=0, data_type=0, vbucket=0,
            key_len=None, extras_len=None, body_len=None, magic=REQ_MAGIC):
    """One request packet. key_len/extras_len/body_len override the computed header fields
    (to build malformed packets); the bytes after the header are always extras+key+value."""
    if isinstance(key, str):
        key = key.encode()
    body = extras + key + value
    return HEADER.pack(
        magic, opcode,
        len(key) if key_len is None else key_len,
        len(extras) if extras_len is None else extras_len,
        data_type, vbucket,
        len(body) if body_len is None else body_len,
        opaque, cas) + body


def storage_extras(flags=0, exptime=0):
    return struct.pack(">II", flags, exptime)


def incr_extras(delta=1, initial=0, exptime=0):
    return struct.pack(">QQI", delta, initial, exptime)


def exptime_extras(exptime):
    return struct.pack(">I", exptime)


def u64(value):
    return struct.unpack(">Q", value)[0]


def flags_of(resp):
    return struct.unpack(">I", resp.extras)[0]


class BinConn(Conn):
    """A raw binary-protocol connection to a conftest Server (conftest's Conn supplies the
    socket, send and exact reads)."""

    def __init__(self, server, timeout=5):
        super().__init__(server, timeout)
        self.server = server

    def read_response(self):
        """Reads exactly one response (24-byte header + body) and parses it."""
        header = self.read_exactly(HEADER.size)
        (magic, opcode, key_len, extras_len, data_type, status, body_len, opaque,
         cas) = HEADER.unpack(header)
        body = self.read_exactly(body_len)
        extras = body[:extras_len]
        key = body[extras_len:extras_len + key_len]
        value = body[extras_len + key_len:]
        return Response(magic, opcode, key_len, extras_len, data_type, status, body_len, opaque,
                        cas, extras, key, value)

    def call(self, opcode, key=b"", value=b"", extras=b"", cas=0, opaque=0, **kw):
        """Sends one request and reads one response."""
        self.send(request(opcode, key, value, extras, cas, opaque, **kw))
        return self.read_response()

    def read_until_noop(self):
        """Reads responses up to and including the NOOP reply; returns those before it."""
        out = []
        while True:
            r = self.read_response()
            if r.opcode == NOOP:
                return out
            out.append(r)

    def assert_quiet(self):
        """Proves nothing is pending on the connection: the next reply is the NOOP's."""
        r = self.call(NOOP, opaque=0x5EED)
        assert (r.opcode, r.status, r.opaque, r.body_len) == (NOOP, SUCCESS, 0x5EED, 0), r

    def read_until_close(self, timeout=5):
        """Every byte the server still sends before it closes the connection (raises
        socket.timeout if it stays open). `== b""` proves nothing more came before the close."""
        self.sock.settimeout(timeout)
        out, self.buf = self.buf, b""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return out
                out += chunk
        except (ConnectionResetError, ssl.SSLError):  # TLS: an alert or a reset ends it too
            return out

    def nothing_pending(self, timeout=0.2):
        """True when no byte arrives within `timeout` (a negative check, not a synchroniser)."""
        if self.buf:
            return False
        readable, _, _ = select.select([self.sock], [], [], timeout)
        return not readable

    def close(self):
        self.sock.close()

    # convenience wrappers ------------------------------------------------------------------

    def set(self, key, value, flags=0, exptime=0, cas=0, opcode=SET, opaque=0):
        return self.call(opcode, key, value, storage_extras(flags, exptime), cas=cas,
                         opaque=opaque)

    def get(self, key, opcode=GET, opaque=0):
        return self.call(opcode, key, opaque=opaque)

    def incr(self, key, delta=1, initial=0, exptime=0, opcode=INCREMENT, cas=0, opaque=0):
        return self.call(opcode, key, extras=incr_extras(delta, initial, exptime), cas=cas,
                         opaque=opaque)

    def stats(self, group=b""):
        """{name: value} of one STAT request, read up to its empty terminating packet."""
        self.send(request(STAT, group))
        out = {}
        while True:
            r = self.read_response()
            assert r.opcode == STAT and r.status == SUCCESS, r
            if r.key_len == 0 and r.body_len == 0:
                return out
            out[r.key.decode()] = r.value.decode()


def error(opcode, status, opaque=0):
    """The exact bytes of an error response (body = memcached's text for the status)."""
    body = ERROR_BODY[status]
    return HEADER.pack(RES_MAGIC, opcode, 0, 0, 0, status, len(body), opaque, 0) + body


def require_stats_group(server, group):
    """Skips the test when the server has no such `stats` group even in the text protocol
    (cachet answers ERROR for settings/items/slabs until issue 5, see README)."""
    import pytest
    from conftest import Conn
    c = Conn(server)
    try:
        line = c.call(b"stats " + group + b"\r\n")
        if line == b"ERROR\r\n":
            pytest.skip("server has no 'stats %s' (cachet: issue 5)" % group.decode())
        if line != b"END\r\n":
            c.read_until(b"END\r\n")
    finally:
        c.close()
