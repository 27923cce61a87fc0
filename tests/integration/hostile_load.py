"""Hostile load patterns of issue 17, shared by test_hostile_load.py and `make soak`: many
connections that each make the server hold memory (half-sent values, replies never read, endless
key lines), a probe client that times a set + get every few milliseconds meanwhile, and the
server's peak RSS."""
import multiprocessing
import socket
import threading
import time

VALUE_1MB = 1000000


def read_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class RssWatch:
    """Samples the server's RSS every 20 ms; `peak_kib` is the highest seen."""

    def __init__(self, pid):
        self.pid = pid
        self.peak_kib = read_rss_kib(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(0.02):
            try:
                self.peak_kib = max(self.peak_kib, read_rss_kib(self.pid))
            except OSError:
                return

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self.peak_kib


def _probe_main(address, interval, stop, conn):
    """The probe's process: its own interpreter, so the attack's sending (which holds this
    process's GIL) adds nothing to its timings."""
    latencies, connects, errors = [], [], []

    def call(s, data, end):
        s.sendall(data)
        buf = b""
        while not buf.endswith(end):
            chunk = s.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        return buf

    try:
        s = socket.create_connection(address, timeout=10)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.send("ready")
        last_fresh = 0.0
        i = 0
        while not stop.is_set():
            t = time.perf_counter()
            reply = call(s, b"set probe%d 0 0 2\r\nok\r\nget probe%d\r\n" % (i, i), b"END\r\n")
            latencies.append(time.perf_counter() - t)
            if not reply.startswith(b"STORED\r\nVALUE"):
                errors.append(reply[:80])
            if t - last_fresh > 0.5:
                last_fresh = t
                t = time.perf_counter()
                f = socket.create_connection(address, timeout=10)
                call(f, b"get probe%d\r\n" % i, b"END\r\n")
                connects.append(time.perf_counter() - t)
                f.close()
            i += 1
            stop.wait(interval)
        s.close()
    except (OSError, ConnectionError) as e:
        errors.append(repr(e))
        conn.send("ready")
    conn.send((latencies, connects, errors))


class Probe:
    """A well-behaved client in a process of its own: set + get of a small key every `interval`
    s, each timed, on one connection; and twice a second, connecting anew and one get."""

    def __init__(self, address, interval=0.01):
        ctx = multiprocessing.get_context("fork")
        self._stop = ctx.Event()
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_probe_main, args=(address, interval, self._stop, child),
                                 daemon=True)
        self._proc.start()
        assert self._conn.recv() == "ready"
        self.latencies, self.connects, self.errors = [], [], []

    def stop(self):
        self._stop.set()
        self.latencies, self.connects, self.errors = self._conn.recv()
        self._proc.join()

    def p99_ms(self):
        lat = sorted(self.latencies)
        return lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e3 if lat else None

    def max_ms(self):
        return max(self.latencies) * 1e3 if self.latencies else None

    def connect_max_ms(self):
        return max(self.connects) * 1e3 if self.connects else None


def open_many(address, n):
    socks = []
    for _ in range(n):
        s = socket.create_connection(address, timeout=10)
        s.setblocking(False)
        socks.append(s)
    return socks


def send_all_nonblocking(socks, payload_for, deadline):
    """Sends each socket its payload without blocking on any: a server that stops reading
    from one does not hold up the others. Returns the bytes that could not be sent."""
    pending = {s: memoryview(payload_for(i)) for i, s in enumerate(socks)}
    while pending and time.monotonic() < deadline:
        progressed = False
        for s, view in list(pending.items()):
            try:
                n = s.send(view[:1 << 20])
            except BlockingIOError:
                continue
            except OSError:
                del pending[s]  # closed by the server
                continue
            progressed = True
            if n == len(view):
                del pending[s]
            else:
                pending[s] = view[n:]
        if not progressed:
            time.sleep(0.005)
    return sum(len(v) for v in pending.values())


def half_sent_sets(address, n, deadline):
    """`set k 0 0 1000000` and 999,000 bytes of the value on each of n connections."""
    socks = open_many(address, n)
    send_all_nonblocking(
        socks, lambda i: b"set half%d 0 0 %d\r\n" % (i, VALUE_1MB) + b"x" * (VALUE_1MB - 1000),
        deadline)
    return socks


def unread_gets(address, n, deadline, gets=100):
    """`gets` pipelined `get` of the 1 MB key `big` on each of n connections, never read."""
    socks = open_many(address, n)
    send_all_nonblocking(socks, lambda i: b"get big\r\n" * gets, deadline)
    return socks


def endless_key_lines(address, n, deadline, total=1 << 20, step=16384):
    """`get ` then `total` bytes of keys and no newline, `step` bytes at a time to each."""
    socks = open_many(address, n)
    for s in socks:
        try:
            s.send(b"get ")
        except OSError:
            pass
    keys = b"k" * 200 + b" "
    chunk = (keys * (step // len(keys) + 1))[:step]
    sent = 0
    while sent < total and time.monotonic() < deadline:
        for s in socks:
            try:
                s.send(chunk)
            except OSError:
                pass  # full or closed: skip it this round
        sent += step
    return socks


def close_all(socks):
    for s in socks:
        try:
            s.close()
        except OSError:
            pass
