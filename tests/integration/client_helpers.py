"""Raw protocol look-ups shared by the client-library tests (test_clients, test_django,
test_libmemcached_tools). Their servers come from conftest's module_server_factory and are
flushed between tests.
"""
from conftest import Conn


def raw_call(server, data, terminator=b"\r\n"):
    c = Conn(server)
    try:
        return c.call(data, terminator)
    finally:
        c.close()


def flush(server):
    assert raw_call(server, b"flush_all\r\n") == b"OK\r\n"


def raw_get(server, key):
    """Returns (flags, value) via a raw `get`, or None on a miss."""
    if isinstance(key, str):
        key = key.encode()
    c = Conn(server)
    try:
        c.send(b"get " + key + b"\r\n")
        line = c.read_line()
        if line == b"END\r\n":
            return None
        parts = line.split()
        assert parts[0] == b"VALUE" and parts[1] == key, line
        value = c.read_exactly(int(parts[3]) + 2)
        assert value.endswith(b"\r\n")
        assert c.read_line() == b"END\r\n"
        return int(parts[2]), value[:-2]
    finally:
        c.close()


def raw_stats(server):
    """The general `stats` as a dict of str -> str."""
    reply = raw_call(server, b"stats\r\n", b"END\r\n")
    stats = {}
    for line in reply.split(b"\r\n"):
        if line.startswith(b"STAT "):
            _, name, value = line.split(b" ", 2)
            stats[name.decode()] = value.decode()
    return stats


def curr_items(server):
    return int(raw_stats(server)["curr_items"])
