#!/usr/bin/python3
"""`make soak`: issue 17's hostile patterns all together, over and over, under a normal load,
for cachet and then memcached (-m 64 -c 4096 -t 4): RSS and the probe's p99 and max every
10 seconds, side by side, and whether RSS grew after the first minute. Not part of make test.

Each 30 s cycle opens `--conns` connections of each pattern (half-sent 1 MB values, 100
pipelined gets of a 1 MB value never read, `get ` + 1 MiB of keys without a newline), holds
them 20 s and closes them; 20 `watch` clients that never read stay the whole run; a loadgen
sends a 90 % get load at a fixed rate, and a probe process times a set + get every 10 ms. -m is
filled first, so that RSS shows the buffers, not the cache filling up.

With --patterns, instead: each pattern alone, as issue 17's table measures it (`--conns` 1000,
-c 2048), `--rounds` times per server: the RSS growth over the filled cache, and the probe's
p99, its slowest request and its slowest fresh connection (connect, `get`, answer) from the
moment the attackers start connecting until `--hold` seconds after they sent their part."""
import argparse
import os
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import hostile_load as hl  # noqa: E402  (the patterns test_hostile_load.py asserts on)
from benchkit.servers import Server  # noqa: E402

WINDOW_S = 10


def _cycle(address, conns, stop):
    """Opens each pattern's connections, holds them 20 s, closes them; again until `stop`."""
    while not stop.is_set():
        t0 = time.monotonic()
        deadline = t0 + 15
        socks = []
        for attack in (hl.half_sent_sets, hl.unread_gets, hl.endless_key_lines):
            try:
                socks += attack(address, conns, deadline)
            except OSError:
                pass  # refused at -c: the server said no, which is fine
        stop.wait(max(0.0, 20 - (time.monotonic() - t0)))
        hl.close_all(socks)
        stop.wait(10)


def _start(name, binary, kind, max_conns):
    """A server on a full -m 64 (2 KB values, twice over), holding the 1 MB value `big`."""
    srv = Server(name, binary, kind, 4, 64, extra=["-c", str(max_conns)]).start()
    s = socket.create_connection(("127.0.0.1", srv.port))
    value = b"v" * 2000
    for base in range(0, 2 * 64 * 500, 500):
        s.sendall(b"".join(b"set fill%d 0 0 %d noreply\r\n%s\r\n" % (base + i, len(value), value)
                           for i in range(500)) + b"mn\r\n")
        buf = b""
        while not buf.endswith(b"MN\r\n"):
            buf += s.recv(65536)
    big = b"x" * hl.VALUE_1MB
    s.sendall(b"set big 0 0 %d\r\n%s\r\n" % (len(big), big))
    s.recv(100)
    s.close()
    return srv


PATTERNS = {
    "half-sent 1 MB sets": hl.half_sent_sets,
    "100 unread gets of 1 MB": hl.unread_gets,
    "get + 1 MiB of keys": hl.endless_key_lines,
}


def _patterns(name, binary, kind, conns, rounds, hold, log):
    """rows[pattern] = [(RSS growth MiB, probe p99 ms, max ms, fresh connection max ms,
    errors), ...]"""
    rows = {p: [] for p in PATTERNS}
    srv = _start(name, binary, kind, 2048)
    address = ("127.0.0.1", srv.port)
    try:
        for rnd in range(rounds):
            for pattern, attack in PATTERNS.items():
                before = hl.read_rss_kib(srv.proc.pid)
                watch = hl.RssWatch(srv.proc.pid)
                probe = hl.Probe(address)
                socks = []
                try:
                    socks = attack(address, conns, time.monotonic() + 15)
                except OSError:
                    pass  # refused at -c
                time.sleep(hold)
                probe.stop()
                peak = watch.stop()
                hl.close_all(socks)
                row = ((peak - before) / 1024, probe.p99_ms() or 0, probe.max_ms() or 0,
                       probe.connect_max_ms() or 0, len(probe.errors))
                rows[pattern].append(row)
                print(f"  {name} round {rnd + 1} {pattern:<24} RSS +{row[0]:7.1f} MiB  probe "
                      f"p99 {row[1]:6.2f} ms  max {row[2]:7.2f} ms  fresh client max "
                      f"{row[3]:7.2f} ms  errors {row[4]}", file=log, flush=True)
                time.sleep(2)  # the closes drain
    finally:
        srv.stop()
    return rows


def _span(values, fmt):
    lo, hi = min(values), max(values)
    return fmt.format(lo) if fmt.format(lo) == fmt.format(hi) else fmt.format(lo) + "–" + fmt.format(hi)


def _run(name, binary, kind, minutes, conns, loadgen, log):
    srv = _start(name, binary, kind, 4096)
    address = ("127.0.0.1", srv.port)
    rows = []
    try:
        watchers = []
        for _ in range(20):
            w = socket.create_connection(address)
            w.sendall(b"watch fetchers mutations\r\n")
            watchers.append(w)
        load = subprocess.Popen(
            [loadgen, "-p", str(srv.port), "-c", "4", "--ratio", "1:9", "--rate", "2000",
             "--duration", str(minutes * 60 + 5)], stdout=subprocess.DEVNULL)
        stop = threading.Event()
        attacker = threading.Thread(target=_cycle, args=(address, conns, stop), daemon=True)
        attacker.start()
        start = time.monotonic()
        while time.monotonic() - start < minutes * 60:
            probe = hl.Probe(address)
            watch = hl.RssWatch(srv.proc.pid)
            time.sleep(WINDOW_S)  # one measuring window
            probe.stop()
            peak = watch.stop()
            row = (time.monotonic() - start, peak / 1024, probe.p99_ms(), probe.max_ms(),
                   len(probe.errors), probe.connect_max_ms())
            rows.append(row)
            print(f"  {name} t={row[0]:5.0f}s RSS peak {row[1]:7.1f} MiB  probe p99 "
                  f"{row[2] or 0:7.2f} ms  max {row[3] or 0:8.2f} ms  fresh client max "
                  f"{row[5] or 0:8.2f} ms  errors {row[4]}", file=log, flush=True)
        stop.set()
        attacker.join()
        load.terminate()
        load.wait()
        hl.close_all(watchers)
    finally:
        srv.stop()
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--conns", type=int, help="connections per pattern (per cycle): default "
                    "600, with --patterns 1000")
    ap.add_argument("--patterns", action="store_true", help="each pattern alone (see above)")
    ap.add_argument("--rounds", type=int, default=3, help="with --patterns")
    ap.add_argument("--hold", type=float, default=8, help="with --patterns: seconds")
    ap.add_argument("--cachet", default=os.path.join(HERE, "..", "build", "cachet"))
    ap.add_argument("--memcached", default="/usr/bin/memcached")
    ap.add_argument("--loadgen", default=os.path.join(HERE, "..", "build", "bench", "loadgen"))
    a = ap.parse_args()
    servers = (("cachet", a.cachet), ("memcached", a.memcached))
    if a.patterns:
        results = {name: _patterns(name, binary, name, a.conns or 1000, a.rounds, a.hold,
                                   sys.stdout) for name, binary in servers}
        print(f"\nEach pattern alone, {a.conns or 1000} connections, -m 64 full, "
              f"{a.rounds} rounds (ranges): RSS growth / probe p99 / probe max / fresh client max")
        for pattern in PATTERNS:
            cells = []
            for name in results:
                rs = results[name][pattern]
                cells.append(f"{name}: +{_span([r[0] for r in rs], '{:.0f}')} MiB, "
                             f"{_span([r[1] for r in rs], '{:.1f}')} / "
                             f"{_span([r[2] for r in rs], '{:.0f}')} / "
                             f"{_span([r[3] for r in rs], '{:.1f}')} ms, "
                             f"{sum(r[4] for r in rs)} errors")
            print(f"  {pattern:<24} " + "  |  ".join(cells))
        return
    results = {}
    for name, binary in servers:
        print(f"{name}: {a.minutes:g} minutes", flush=True)
        results[name] = _run(name, binary, name, a.minutes, a.conns or 600, a.loadgen,
                             sys.stdout)
    print("\nSoak: RSS peak MiB / probe p99 ms / probe max ms per 10 s window")
    print(f"{'t (s)':>6} | {'cachet':^26} | {'memcached':^26}")
    for c, m in zip(results["cachet"], results["memcached"]):
        print(f"{c[0]:6.0f} | {c[1]:7.1f} {c[2] or 0:8.2f} {c[3] or 0:9.2f} | "
              f"{m[1]:7.1f} {m[2] or 0:8.2f} {m[3] or 0:9.2f}")
    for name, rows in results.items():
        first = max(r[1] for r in rows if r[0] <= 60)
        later = max((r[1] for r in rows if r[0] > 60), default=first)
        p99s = sorted(r[2] or 0 for r in rows)
        print(f"{name}: RSS peak first minute {first:.1f} MiB, after it {later:.1f} MiB "
              f"({'no growth' if later <= first + 8 else 'GREW'}); worst window p99 "
              f"{p99s[-1]:.2f} ms, median window p99 {p99s[len(p99s) // 2]:.2f} ms, "
              f"worst max {max(r[3] or 0 for r in rows):.2f} ms, worst fresh client "
              f"{max(r[5] or 0 for r in rows):.2f} ms, probe errors "
              f"{sum(r[4] for r in rows)}")


if __name__ == "__main__":
    main()
