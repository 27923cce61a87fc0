"""Invalidation by prefix: cachet's flush_prefix beside the memcached workaround on the same data.

For each cache size: fill both servers with 10 B-ish keys and 32 B values, one key in ten under
the prefix "inv:"; then, with a probe client reading a key outside the prefix:
- cachet: `flush_prefix inv:` — the time to its `OK`, and until the sweep has retired the rule
  (`flush_prefix_rules_active` back to 0);
- memcached: `lru_crawler metadump all`, then one `delete … noreply` per listed key under the
  prefix, pipelined — the time until the last delete has been answered (an `mn` after them).
The probe's get p99 over a quiet second before, and while the invalidation runs."""
import re
import socket
import statistics
import threading
import time
import urllib.parse

from .servers import Server

PREFIX = b"inv:"


def _conn(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def _read_until(s, end):
    """The reply up to `end` (chunks kept in a list: a 10 M-key dump is ~1 GB)."""
    chunks, tail = [], b""
    while not tail.endswith(end):
        chunk = s.recv(1 << 20)
        if not chunk:
            raise RuntimeError("connection closed")
        chunks.append(chunk)
        tail = (tail + chunk)[-len(end):]
    return b"".join(chunks)


def _fill(port, items):
    s = _conn(port)
    value = b"v" * 32
    batch = 100000
    for base in range(0, items, batch):
        parts = []
        for i in range(base, min(items, base + batch)):
            key = (PREFIX if i % 10 == 0 else b"key:") + b"%08d" % i
            parts.append(b"set %s 0 0 32 noreply\r\n%s\r\n" % (key, value))
        s.sendall(b"".join(parts) + b"mn\r\n")
        _read_until(s, b"MN\r\n")
    s.close()


class _Probe:
    """Gets a key outside the prefix every half millisecond, timing each reply."""

    def __init__(self, port):
        self.s = _conn(port)
        self.s.sendall(b"set probe 0 0 1\r\nx\r\n")
        _read_until(self.s, b"STORED\r\n")
        self.samples = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self):
        while not self.stop.is_set():
            t = time.perf_counter()
            self.s.sendall(b"get probe\r\n")
            _read_until(self.s, b"END\r\n")
            self.samples.append((time.monotonic(), time.perf_counter() - t))
            # Half a millisecond between gets: thousands of samples over a sweep, and CPU left
            # for the command being timed (a busy loop adds scheduling delay to it on 2 cores).
            time.sleep(0.0005)

    def p99_ms(self, start, end):
        lat = sorted(d for t, d in self.samples if start <= t <= end)
        if not lat:
            return None
        return lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e3


def _stat(s, name):
    s.sendall(b"stats\r\n")
    m = re.search(rb"STAT " + name.encode() + rb" (\d+)\r\n", _read_until(s, b"END\r\n"))
    return int(m.group(1)) if m else None


def _ready_conn(port):
    """A connection the server has already served once (accepting is not what is timed)."""
    s = _conn(port)
    s.sendall(b"mn\r\n")
    _read_until(s, b"MN\r\n")
    return s


def _cachet_invalidate(port):
    s = _ready_conn(port)
    t0 = time.perf_counter()
    s.sendall(b"flush_prefix " + PREFIX + b"\r\n")
    assert _read_until(s, b"\r\n") == b"OK\r\n"
    ok = time.perf_counter() - t0
    while _stat(s, "flush_prefix_rules_active") != 0:
        time.sleep(0.001)  # polling the sweep's end
    done = time.perf_counter() - t0
    removed = _stat(s, "flush_prefix_items")
    s.close()
    return ok, done, removed


def _memcached_invalidate(port):
    s = _ready_conn(port)
    d = _ready_conn(port)
    t0 = time.perf_counter()
    s.sendall(b"lru_crawler metadump all\r\n")
    dump = _read_until(s, b"END\r\n")
    # Keys are URI-encoded in the dump: match the prefix encoded the same way.
    want = b"key=" + urllib.parse.quote_from_bytes(PREFIX, safe="").encode()
    keys = [urllib.parse.unquote_to_bytes(line[4:line.index(b" ")])
            for line in dump.split(b"\n") if line.startswith(want)]
    del dump
    for i in range(0, len(keys), 10000):
        d.sendall(b"".join(b"delete %s noreply\r\n" % k for k in keys[i:i + 10000]))
    d.sendall(b"mn\r\n")
    _read_until(d, b"MN\r\n")
    done = time.perf_counter() - t0
    s.close()
    d.close()
    return done, len(keys)


def run(binaries, sizes, memory_mb, log):
    out = []
    for items in sizes:
        row = {"items": items, "matching": items // 10}
        for name, (binary, kind) in binaries.items():
            srv = Server(name, binary, kind, 4, memory_mb).start()
            try:
                _fill(srv.port, items)
                probe = _Probe(srv.port)
                probe.thread.start()
                time.sleep(1.0)  # a quiet second for the baseline
                t_start = time.monotonic()
                if kind == "cachet":
                    ok, done, removed = _cachet_invalidate(srv.port)
                    row.update(cachet_ok_ms=ok * 1e3, cachet_sweep_s=done, cachet_removed=removed)
                else:
                    done, removed = _memcached_invalidate(srv.port)
                    row.update(memcached_workaround_s=done, memcached_removed=removed)
                t_end = time.monotonic()
                probe.stop.set()
                probe.thread.join()
                row[f"{name}_p99_quiet_ms"] = probe.p99_ms(t_start - 1.0, t_start)
                row[f"{name}_p99_during_ms"] = probe.p99_ms(t_start, max(t_end, t_start + 0.05))
                print(f"  {name} {items:,} items: done in {done:.3f} s", file=log, flush=True)
            finally:
                srv.stop()
        if row.get("cachet_sweep_s") and row.get("memcached_workaround_s"):
            row["sweep_speedup"] = row["memcached_workaround_s"] / row["cachet_sweep_s"]
        out.append(row)
    return out


def table(rows):
    lines = ["Invalidation by prefix (10 % of the items match; probe get p99 quiet / during)",
             f"{'items':>11} {'cachet OK ms':>13} {'sweep s':>8} {'memcached workaround s':>23} "
             f"{'speedup':>8} {'cachet p99 ms':>15} {'memcached p99 ms':>17}"]

    def f(v, spec):
        return "-" if v is None else format(v, spec)

    for r in rows:
        lines.append(
            f"{r['items']:>11,} {f(r.get('cachet_ok_ms'), '.3f'):>13} "
            f"{f(r.get('cachet_sweep_s'), '.3f'):>8} {f(r.get('memcached_workaround_s'), '.3f'):>23} "
            f"{f(r.get('sweep_speedup'), '.1f'):>8} "
            f"{f(r.get('cachet_p99_quiet_ms'), '.3f')}/{f(r.get('cachet_p99_during_ms'), '.3f'):<7} "
            f"{f(r.get('memcached_p99_quiet_ms'), '.3f')}/{f(r.get('memcached_p99_during_ms'), '.3f')}")
    return "\n".join(lines)
