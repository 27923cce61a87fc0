"""Shared fixtures: start the server under test on loopback and talk to it.

The binary is build/cachet unless CACHET_BIN points elsewhere (e.g. /usr/bin/memcached), so the
same suite shows any difference between cachet and Debian's memcached side by side.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

import hostile_load

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHET_BIN = os.environ.get("CACHET_BIN", os.path.join(REPO, "build", "cachet"))
IS_MEMCACHED = os.path.basename(CACHET_BIN).startswith("memcached")


def _is_sanitized(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return False
    return b"__asan_init" in data or b"__tsan_init" in data


SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "WARNING: ThreadSanitizer")

# ASan/TSan builds (make asan / make tsan) need several times the memory: RSS bounds do not apply.
SANITIZED = _is_sanitized(CACHET_BIN)
rss_bound_check = pytest.mark.skipif(SANITIZED, reason="sanitizer build: RSS is not comparable")


def not_in_cachet(reason):
    """Marks a check of memcached behaviour that cachet deliberately does not copy (the cachet
    side of the difference is documented in README.md)."""
    return pytest.mark.skipif(not IS_MEMCACHED, reason="deliberate difference: " + reason)


def memcached_only_difference(reason):
    """Marks a check that documents a deliberate difference from memcached 1.6.18."""
    return pytest.mark.skipif(IS_MEMCACHED, reason="deliberate difference: " + reason)


class Server:
    """One running server process. `port` is None for a Unix-socket-only server."""

    def __init__(self, args, unix=False, env=None):
        self.tmpdir = tempfile.mkdtemp(prefix="cachet-test-")
        port_file = os.path.join(self.tmpdir, "ports")
        self.socket_path = os.path.join(self.tmpdir, "cachet.sock") if unix else None
        cmd = [CACHET_BIN, "-U", "0"]
        if unix:
            cmd += ["-s", self.socket_path]
        else:
            cmd += ["-l", "127.0.0.1", "-p", "-1"]
        if os.geteuid() == 0:
            cmd += ["-u", "root"]
        cmd += list(args)
        full_env = dict(os.environ)
        full_env["MEMCACHED_PORT_FILENAME"] = port_file
        full_env["CACHET_DEBUGTIME"] = "1"  # test-only clock control; memcached ignores it
        if env:
            full_env.update(env)
        self.args = cmd
        # A file, not a pipe: a server that logs a lot must never block on a full pipe.
        self.log_path = os.path.join(self.tmpdir, "server.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, env=full_env, stdout=self.log, stderr=self.log)
        self.port = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}: {self.output()}")
            if unix:
                if os.path.exists(self.socket_path):
                    try:
                        self.raw().close()
                        break
                    except OSError:
                        pass
            elif os.path.exists(port_file):
                with open(port_file) as f:
                    for line in f:
                        if line.startswith("TCP INET:"):
                            self.port = int(line.split(":")[1])
                if self.port:
                    break
            time.sleep(0.01)  # polling for startup, not synchronising on server behaviour
        else:
            self.stop()
            raise RuntimeError("server did not start")
        self.host = "127.0.0.1"

    @property
    def address(self):
        return (self.host, self.port)

    @property
    def location(self):
        """Django-style LOCATION string."""
        return f"unix:{self.socket_path}" if self.socket_path else f"{self.host}:{self.port}"

    def raw(self, timeout=5):
        if self.socket_path:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(timeout)
            s.connect(self.socket_path)
        else:
            s = socket.create_connection(self.address, timeout=timeout)
        return s

    def rss_kib(self):
        return hostile_load.read_rss_kib(self.proc.pid)

    def output(self):
        """What the server printed so far."""
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Conn:
    """A raw text-protocol connection that reads exact bytes."""

    def __init__(self, server, timeout=5):
        self.sock = server.raw(timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def read_exactly(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line + b"\r\n"

    def read_until(self, terminator):
        while terminator not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        idx = self.buf.index(terminator) + len(terminator)
        out, self.buf = self.buf[:idx], self.buf[idx:]
        return out

    def call(self, data, terminator=b"\r\n"):
        """Sends `data` and returns the reply up to and including `terminator`."""
        self.send(data)
        return self.read_until(terminator)

    def is_closed(self, timeout=5):
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()


def debugtime(server, seconds):
    """Moves the server clock forward; skips the test when the server has no debugtime."""
    c = Conn(server)
    try:
        reply = c.call(f"debugtime {seconds}\r\n".encode())
    finally:
        c.close()
    if reply != b"OK\r\n":
        pytest.skip("server has no debugtime command (release memcached)")


class _Servers:
    """Starts servers and stops them all at the end, overlapping their shutdowns (release
    memcached takes about a second to exit on SIGTERM)."""

    def __init__(self):
        self.started = []

    def start(self, *args, unix=False, env=None):
        s = Server(args, unix=unix, env=env)
        self.started.append(s)
        return s

    def stop_all(self):
        for s in self.started:
            if s.proc.poll() is None:
                s.proc.send_signal(signal.SIGTERM)
        reports = []
        for s in self.started:
            s.stop()
            output = s.output()
            if any(marker in output for marker in SANITIZER_MARKERS):
                reports.append(output)
            shutil.rmtree(s.tmpdir, ignore_errors=True)
        # A sanitizer build (make asan / make tsan) reports to the server's log: fail loudly.
        assert not reports, "sanitizer report:\n" + "\n".join(reports)


@pytest.fixture
def server_factory():
    servers = _Servers()
    yield servers.start
    servers.stop_all()


@pytest.fixture(scope="module")
def module_server_factory():
    """Like server_factory, but the servers live for the whole module."""
    servers = _Servers()
    yield servers.start
    servers.stop_all()


@pytest.fixture(scope="module")
def tcp_server(module_server_factory):
    """A TCP server for the whole module (the client-library suites flush it between tests)."""
    return module_server_factory()


@pytest.fixture(scope="module")
def unix_server(module_server_factory):
    """A Unix-socket server for the whole module."""
    return module_server_factory(unix=True)


@pytest.fixture(scope="module")
def shared(module_server_factory):
    """One server for a whole test module (memcached takes ~1 s to stop, so per-test servers
    would make the suite slow when it runs against memcached)."""
    return module_server_factory()


@pytest.fixture
def mc(shared):
    """A fresh connection to the module's shared server, emptied by flush_all (which also
    cancels a pending delayed flush)."""
    c = Conn(shared, timeout=10)
    assert c.call(b"flush_all\r\n") == b"OK\r\n"
    yield c
    c.close()


@pytest.fixture
def server(server_factory):
    return server_factory()


@pytest.fixture
def conn(server):
    c = Conn(server)
    yield c
    c.close()


@pytest.fixture(scope="session")
def certs():
    """A test CA and certificates, made with `openssl` for this run (tls_helpers.Certs)."""
    from tls_helpers import Certs
    c = Certs()
    yield c
    c.cleanup()
