"""Invalidation by prefix: cachet's flush_prefix beside the memcached workaround on the same data.

For each cache size: fill both servers with 10 B-ish keys and 32 B values, one key in ten under
the prefix "inv:"; then, with a probe client reading a key outside the prefix:
- cachet: `flush_prefix inv:` — the time to its `OK`, and until the sweep has retired the rule
  (`flush_prefix_rules_active` back to 0);
- memcached: `lru_crawler metadump all`, then one `delete … noreply` per listed key under the
  prefix, pipelined — the time until the last delete has been answered (an `mn` after them).
The probe's get p99 over a quiet half second before, and while the invalidation runs, pooled over
several invalidations of the same data (20 up to 2M items, 5 above); the times are medians."""
import multiprocessing
import re
import socket
import statistics
import threading
import time
import urllib.parse

from .servers import Server

PREFIX = b"inv:"
# Invalidations per size and server: a 1M-item sweep lasts ~40 ms, about 75 probe samples, so
# small caches get more rounds (a p99 over 20 x 75 samples is not one stall of the VM).
ROUNDS_SMALL, ROUNDS_LARGE = 20, 5


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


def _probe_main(port, stop, conn):
    """The probe's process: its own interpreter, so the bench's parsing and polling (which hold
    the GIL) add nothing to its timings. Sends (monotonic time, latency s) pairs at the end."""
    s = _conn(port)
    s.sendall(b"set probe 0 0 1\r\nx\r\n")
    _read_until(s, b"STORED\r\n")
    conn.send("ready")
    samples = []
    while not stop.is_set():
        t = time.perf_counter()
        s.sendall(b"get probe\r\n")
        _read_until(s, b"END\r\n")
        samples.append((time.monotonic(), time.perf_counter() - t))
        # Half a millisecond between gets: thousands of samples over a sweep, and CPU left
        # for the command being timed (a busy loop adds scheduling delay to it on 2 cores).
        time.sleep(0.0005)
    conn.send(samples)
    s.close()


class _Probe:
    """Gets a key outside the prefix every half millisecond, timing each reply."""

    def __init__(self, port):
        ctx = multiprocessing.get_context("fork")
        self.stop = ctx.Event()
        self._conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_probe_main, args=(port, self.stop, child), daemon=True)
        self.proc.start()
        assert self._conn.recv() == "ready"
        self.samples = []

    def finish(self):
        self.stop.set()
        self.samples = self._conn.recv()
        self.proc.join()

    def p99_ms(self, windows):
        lat = sorted(d for t, d in self.samples if any(a <= t <= b for a, b in windows))
        if not lat:
            return None, 0
        return lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e3, len(lat)


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


def _refill_prefix(port, items):
    """Writes the items under the prefix again, for the next round."""
    s = _conn(port)
    value = b"v" * 32
    for base in range(0, items, 1000000):
        s.sendall(b"".join(b"set %s%08d 0 0 32 noreply\r\n%s\r\n" % (PREFIX, i, value)
                           for i in range(base, min(items, base + 1000000), 10)) + b"mn\r\n")
        _read_until(s, b"MN\r\n")
    s.close()


def run(binaries, sizes, memory_mb, log):
    """Per size and server: several invalidations of the same data (the prefix's items written
    again between them), times as medians; the probe's p99 pools every round's window (a
    sweep of 1 M items is ~40 ms: one round holds too few samples for a p99)."""
    out = []
    for items in sizes:
        rounds = ROUNDS_SMALL if items <= 2_000_000 else ROUNDS_LARGE
        row = {"items": items, "matching": items // 10, "rounds": rounds}
        for name, (binary, kind) in binaries.items():
            srv = Server(name, binary, kind, 4, memory_mb).start()
            try:
                _fill(srv.port, items)
                probe = _Probe(srv.port)
                quiet, during, times = [], [], []
                for r in range(rounds):
                    if r:
                        _refill_prefix(srv.port, items)
                    time.sleep(0.5)  # a quiet half second for the baseline
                    t_start = time.monotonic()
                    quiet.append((t_start - 0.5, t_start))
                    if kind == "cachet":
                        times.append(_cachet_invalidate(srv.port))
                    else:
                        times.append(_memcached_invalidate(srv.port))
                    t_end = time.monotonic()
                    during.append((t_start, max(t_end, t_start + 0.05)))
                probe.finish()
                if kind == "cachet":
                    row.update(cachet_ok_ms=statistics.median(t[0] for t in times) * 1e3,
                               cachet_sweep_s=statistics.median(t[1] for t in times),
                               cachet_removed=times[0][2])
                    done = row["cachet_sweep_s"]
                else:
                    row.update(memcached_workaround_s=statistics.median(t[0] for t in times),
                               memcached_removed=times[0][1])
                    done = row["memcached_workaround_s"]
                row[f"{name}_p99_quiet_ms"], row[f"{name}_samples_quiet"] = probe.p99_ms(quiet)
                row[f"{name}_p99_during_ms"], row[f"{name}_samples_during"] = probe.p99_ms(during)
                print(f"  {name} {items:,} items: done in {done:.3f} s (median of {rounds}), "
                      f"{row[f'{name}_samples_during']} probe samples during", file=log, flush=True)
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
