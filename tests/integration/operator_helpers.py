"""Helpers for the operator-surface tests (stats groups, key listing, watch, admin commands,
operator tools). Not a test module. Behaviour reference: docs/design/memcached-operator-behaviour.md.
"""
import os
import re
import socket
import subprocess
import threading
import time

import pytest

from conftest import Conn

TOOLS = "/usr/bin"
MEMCACHED_TOOL = "/usr/share/memcached/scripts/memcached-tool"

# memcached's uriencode: these bytes stay, every other byte becomes %XX (upper-case hex).
_UNRESERVED = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

METADUMP_LINE = re.compile(
    rb"^key=(\S+) exp=(-1|\d+) la=(\d+) cas=(\d+) fetch=(yes|no) cls=(\d+) size=(\d+)$")
CACHEDUMP_LINE = re.compile(rb"^ITEM (\S+) \[(\d+) b; (\d+) s\]$")


def urlencode(key):
    return b"".join(bytes([c]) if c in _UNRESERVED else b"%%%02X" % c for c in key)


def urldecode(text):
    return re.sub(rb"%([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), text)


def call(server, data, terminator=b"\r\n"):
    c = Conn(server)
    try:
        return c.call(data, terminator)
    finally:
        c.close()


def stat_pairs(reply):
    """`STAT name value` lines of a reply as an ordered list of (str, str)."""
    out = []
    for line in reply.split(b"\r\n"):
        if line.startswith(b"STAT "):
            parts = line.split(b" ", 2)
            out.append((parts[1].decode(), parts[2].decode() if len(parts) > 2 else ""))
    return out


def stats_group(server_or_conn, group=b""):
    """Ordered (name, value) pairs of `stats <group>` (a reply that ends in END)."""
    cmd = b"stats" + (b" " + group if group else b"") + b"\r\n"
    if isinstance(server_or_conn, Conn):
        reply = server_or_conn.call(cmd, b"END\r\n")
    else:
        reply = call(server_or_conn, cmd, b"END\r\n")
    assert reply.endswith(b"END\r\n"), reply[-200:]
    return stat_pairs(reply)


def stats_dict(server_or_conn, group=b""):
    return dict(stats_group(server_or_conn, group))


def mass_set(server, keys, values):
    """Stores many items in one pipelined burst (`set … noreply`), then syncs with `mn`.
    `values` is one bytes value for all keys or a callable key -> value."""
    c = Conn(server, timeout=30)
    try:
        parts = []
        for k in keys:
            v = values(k) if callable(values) else values
            parts.append(b"set %s 0 0 %d noreply\r\n%s\r\n" % (k, len(v), v))
        parts.append(b"mn\r\n")
        c.send(b"".join(parts))
        assert c.read_line() == b"MN\r\n"
    finally:
        c.close()


def read_metadump(conn):
    """Reads a metadump reply (\\n-terminated lines, then END\\r\\n). Returns the item lines."""
    data = conn.read_until(b"END\r\n")
    assert data.endswith(b"END\r\n")
    body = data[:-len(b"END\r\n")]
    if not body:
        return []
    assert body.endswith(b"\n"), body[-200:]
    return body[:-1].split(b"\n")


def metadump(server, arg=b"all"):
    """Parsed `lru_crawler metadump <arg>`: {raw key bytes: dict of fields}."""
    c = Conn(server, timeout=30)
    try:
        c.send(b"lru_crawler metadump " + arg + b"\r\n")
        lines = read_metadump(c)
    finally:
        c.close()
    out = {}
    for line in lines:
        m = METADUMP_LINE.match(line)
        assert m, line
        key = urldecode(m.group(1))
        assert key not in out, b"duplicate " + line
        out[key] = {"exp": int(m.group(2)), "la": int(m.group(3)), "cas": int(m.group(4)),
                    "fetch": m.group(5).decode(), "cls": int(m.group(6)),
                    "size": int(m.group(7)), "line": line}
    return out


def item_meta(server, key):
    """The metadump fields of one key. memcached's crawler can skip an item that its LRU
    maintainer is moving at that moment (e.g. just written or just read), so poll."""
    return wait_for(lambda: metadump(server).get(key), what=f"{key!r} in metadump")


def cachedump(server, cls, limit=0):
    """Parsed `stats cachedump <cls> <limit>`: list of (key, bytes, exptime)."""
    reply = call(server, b"stats cachedump %d %d\r\n" % (cls, limit), b"END\r\n")
    out = []
    for line in reply.split(b"\r\n")[:-2]:
        m = CACHEDUMP_LINE.match(line)
        assert m, line
        out.append((m.group(1), int(m.group(2)), int(m.group(3))))
    return out


def wait_for(predicate, timeout=10, interval=0.02, what="condition"):
    """Polls `predicate` until it returns a truthy value (returned) or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)  # polling an asynchronous effect, not synchronising


def tool_path(name):
    path = os.path.join(TOOLS, name)
    if not os.path.exists(path):
        pytest.skip(f"{path} not installed (libmemcached-tools)")
    return path


def servers_arg(server):
    spec = server.socket_path or f"{server.host}:{server.port}"
    return f"--servers={spec}"


def run_tool(name, server, *args, timeout=30):
    return subprocess.run([tool_path(name), servers_arg(server), *args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout)


def memcdump_keys(server, timeout=30):
    proc = run_tool("memcdump", server, timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split(b"\n")[:-1] if proc.stdout else []


def memcached_tool(server, *args, timeout=30):
    if not os.path.exists(MEMCACHED_TOOL):
        pytest.skip(f"{MEMCACHED_TOOL} not installed (memcached package)")
    addr = server.socket_path or f"{server.host}:{server.port}"
    return subprocess.run(["perl", MEMCACHED_TOOL, addr, *args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout)


def local_port(conn):
    return conn.sock.getsockname()[1]


def conn_fd_by_port(server, port):
    """The server-side fd (stats conns) of the TCP client whose local port is `port`."""
    for name, value in stats_group(server, b"conns"):
        fd, _, field = name.partition(":")
        if field == "addr" and value == f"tcp:127.0.0.1:{port}":
            return int(fd)
    raise AssertionError(f"no connection from port {port} in stats conns")


def parse_conns(pairs):
    """stats conns pairs -> {fd: [(field, value), ...]} keeping the per-fd line order, plus the
    fd order as listed."""
    conns, order = {}, []
    for name, value in pairs:
        fd, sep, field = name.partition(":")
        assert sep and fd.isdigit(), name
        fd = int(fd)
        if fd not in conns:
            conns[fd] = []
            order.append(fd)
        conns[fd].append((field, value))
    return conns, order


class WatchReader:
    """A `watch` connection: reads \\n-terminated log lines with a deadline."""

    def __init__(self, server, *flags, timeout=10):
        self.conn = Conn(server, timeout=timeout)
        cmd = b"watch" + b"".join(b" " + f for f in flags) + b"\r\n"
        reply = self.conn.call(cmd)
        assert reply == b"OK\r\n", reply
        self.lines = []

    def next_line(self):
        line = self.conn.read_until(b"\n")
        assert not line.endswith(b"\r\n"), line
        line = line[:-1]
        self.lines.append(line)
        return line

    def until(self, predicate, what="watch line"):
        """Reads lines until one satisfies `predicate`; returns all lines read up to it."""
        seen = []
        try:
            while True:
                line = self.next_line()
                seen.append(line)
                if predicate(line):
                    return seen
        except socket.timeout:
            raise AssertionError(f"no {what} within the deadline; got {seen!r}")

    def close(self):
        self.conn.close()


def fields(line):
    """`a=b c=d` -> {'a': 'b', 'c': 'd'} (values kept as str)."""
    out = {}
    for tok in line.decode().split(" "):
        k, _, v = tok.partition("=")
        out[k] = v
    return out


class RecordingProxy:
    """A TCP proxy that records what a client sends and what the server answers."""

    def __init__(self, server):
        self.target = server.address
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.sent = []      # client -> server chunks
        self.received = []  # server -> client chunks
        self.lock = threading.Lock()
        self.threads = []
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()

    def _pipe(self, src, dst, log):
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            with self.lock:
                log.append(data)
            try:
                dst.sendall(data)
            except OSError:
                return

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for a, b, log in ((client, upstream, self.sent), (upstream, client, self.received)):
                t = threading.Thread(target=self._pipe, args=(a, b, log), daemon=True)
                t.start()
                self.threads.append(t)

    def servers_arg(self):
        return f"--servers=127.0.0.1:{self.port}"

    def wait_idle(self):
        for t in list(self.threads):
            t.join(timeout=10)

    def close(self):
        self.listener.close()
