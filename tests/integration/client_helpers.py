"""Helpers shared by the client-library tests (test_clients, test_django,
test_libmemcached_tools): module-scoped servers and raw protocol look-ups.

Release memcached takes about a second to exit on SIGTERM, so these suites start their
servers once per module, stop them all in parallel, and flush between tests instead.
"""
import shutil
import signal

import pytest

from conftest import Conn, Server


@pytest.fixture(scope="module")
def module_server_factory():
    """Like conftest's server_factory, but the servers live for the whole module."""
    started = []

    def start(*args, unix=False, env=None):
        s = Server(args, unix=unix, env=env)
        started.append(s)
        return s

    yield start
    for s in started:  # signal all first so their shutdowns overlap
        if s.proc.poll() is None:
            s.proc.send_signal(signal.SIGTERM)
    for s in started:
        s.stop()
        shutil.rmtree(s.tmpdir, ignore_errors=True)


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
