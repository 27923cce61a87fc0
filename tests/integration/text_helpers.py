"""Small helpers shared by the text-protocol test files (not a test module itself)."""
import collections
import re

VERSION_LINE = b"VERSION 1.6.18\r\n"
TOO_LARGE = b"SERVER_ERROR object too large for cache\r\n"
OUT_OF_MEMORY = b"SERVER_ERROR out of memory storing object\r\n"
BAD_FORMAT = b"CLIENT_ERROR bad command line format\r\n"
BAD_CHUNK = b"CLIENT_ERROR bad data chunk\r\n"
BAD_EXPTIME = b"CLIENT_ERROR invalid exptime argument\r\n"
BAD_DELTA = b"CLIENT_ERROR invalid numeric delta argument\r\n"
NON_NUMERIC = b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"
DELETE_USAGE = b"CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n"
TOO_MANY_CONNS = b"ERROR Too many open connections\r\n"


def storage(cmd, key, value, flags=0, exptime=0, extra=b""):
    """Builds one storage command with its data block."""
    line = b"%s %s %d %d %d" % (cmd, key, flags, exptime, len(value))
    if extra:
        line += b" " + extra
    return line + b"\r\n" + value + b"\r\n"


def store(conn, key, value, flags=0, exptime=0, cmd=b"set"):
    """Sends one storage command and returns its one-line reply."""
    conn.send(storage(cmd, key, value, flags, exptime))
    return conn.read_line()


def value_block(key, value, flags=0, cas=None):
    head = b"VALUE %s %d %d" % (key, flags, len(value))
    if cas is not None:
        head += b" %d" % cas
    return head + b"\r\n" + value + b"\r\n"


def get(conn, *keys, cmd=b"get"):
    """Full reply of a retrieval command, up to and including END."""
    conn.send(cmd + b" " + b" ".join(keys) + b"\r\n")
    return read_retrieval(conn)


def read_retrieval(conn):
    """Reads VALUE blocks by their declared length (values may contain END\\r\\n) until END."""
    out = b""
    while True:
        line = conn.read_line()
        out += line
        if line == b"END\r\n" or not line.startswith(b"VALUE "):
            return out
        nbytes = int(line.split()[3])
        out += conn.read_exactly(nbytes + 2)


def gets_cas(conn, key):
    line = conn.call(b"gets " + key + b"\r\n")
    assert line.startswith(b"VALUE "), line
    cas = int(line.split()[4])
    conn.read_exactly(int(line.split()[3]) + 2)
    assert conn.read_line() == b"END\r\n"
    return cas


def stats(conn, group=b""):
    """Ordered dict of one `stats` reply (str -> str)."""
    conn.send(b"stats" + (b" " + group if group else b"") + b"\r\n")
    raw = conn.read_until(b"END\r\n")
    out = collections.OrderedDict()
    for line in raw.split(b"\r\n"):
        if line.startswith(b"STAT "):
            _, name, value = line.decode().split(" ", 2)
            out[name] = value
    return out


def assert_quiet(conn):
    """Proves nothing is pending on the connection: the next reply is the version line."""
    assert conn.call(b"version\r\n") == VERSION_LINE


INT_RE = re.compile(r"^\d+$")
RUSAGE_RE = re.compile(r"^\d+\.\d{6}$")
