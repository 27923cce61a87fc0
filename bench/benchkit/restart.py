"""Warm restart (-e): a full cache's save and load beside memcached's -e, both on tmpfs, and an
online snapshot while load runs.

For each server: fill -m with 10 B / 100 B items (until evictions start, then 50 % more, as
density does), then
`rounds` times: stop it gracefully (cachet: SIGTERM; memcached: SIGUSR1, the only signal its -e
saves on) and time until the process is gone; start it again and time from exec until a `get`
is answered; read the file size and the peak RSS of the loading process (VmHWM). memcached
1.6.18 refuses its file within the second it was saved, so its start waits for the next second
(not counted). Then, on cachet only: the request rate at saturation of a 90 % get load, the
same load at half that rate without and with a `snapshot` taken a third in, three such pairs
alternating (p99, the slowest request, the extra memory, how long the snapshot took: medians)."""
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from . import loadgen as lg
from .servers import Server


def _get_answered(port, deadline):
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(b"get restart-probe\r\n")
                buf = b""
                while not buf.endswith(b"END\r\n"):
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    buf += chunk
                if buf.endswith(b"END\r\n"):
                    return True
        except OSError:
            pass
        time.sleep(0.001)  # polling for the listener
    return False


def _status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def _fill(s, loadgen, memory_mb, key_size, value_size):
    """Writes until evictions start, then 50 % more (as density does): the cache is full."""
    chunk = max(1000, memory_mb * 1024 * 1024 // (key_size + value_size + 60) // 40)
    sizes = ["--key-size", key_size, "--value-size", value_size]
    written, evicting_at = 0, None
    while evicting_at is None or written < evicting_at * 3 // 2:
        lg.run(loadgen, s.port, ["--dist", "seq", "--key-start", written, "--keys", chunk,
                                 "--ratio", "1:0", "--pipeline", 64, "-c", 1,
                                 "--duration", 3600] + sizes)
        written += chunk
        if evicting_at is None and int(s.stats()["evictions"]) > 0:
            evicting_at = written
    return written


def _file_bytes(path):
    total = 0
    for p in (path, path + ".meta"):
        if os.path.exists(p):
            total += os.path.getsize(p)
    return total


def _cycle(name, binary, kind, threads, memory_mb, path, loadgen, rounds, key_size, value_size,
           log):
    extra = ["-e", path] + (["-A"] if kind == "cachet" else [])  # -A: the snapshot command
    s = Server(name, binary, kind, threads, memory_mb, extra).start()
    written = _fill(s, loadgen, memory_mb, key_size, value_size)
    st = s.stats()
    out = {"written": written, "items": int(st["curr_items"]), "live_bytes": int(st["bytes"]),
           "steady_rss_mib": s.rss_mib(), "rounds": []}
    stop_signal = signal.SIGTERM if kind == "cachet" else signal.SIGUSR1
    for rnd in range(rounds):
        t0 = time.monotonic()
        s.proc.send_signal(stop_signal)
        s.proc.wait(timeout=600)
        save_s = time.monotonic() - t0
        stopped = time.time()
        s.stop()  # its temporary directory
        file_bytes = _file_bytes(path)
        if kind == "memcached":
            time.sleep(max(0.0, stopped + 1.05 - time.time()))
        t0 = time.monotonic()
        s = Server(name, binary, kind, threads, memory_mb, extra).start()
        if not _get_answered(s.port, time.monotonic() + 600):
            raise RuntimeError(f"{name} did not answer after its restart")
        load_s = time.monotonic() - t0
        peak = _status(s.proc.pid, "VmHWM")
        items = int(s.stats()["curr_items"])
        r = {"save_s": save_s, "load_s": load_s, "file_bytes": file_bytes,
             "load_peak_rss_mib": peak, "items_after": items}
        out["rounds"].append(r)
        print(f"  {name:<10} round {rnd + 1}/{rounds}: save {save_s:.2f} s, load {load_s:.2f} s, "
              f"file {file_bytes / 2**20:.1f} MiB, peak RSS {peak:.0f} MiB, "
              f"{items:,} of {out['items']:,} items back", file=log, flush=True)
    for k in ("save_s", "load_s", "load_peak_rss_mib", "file_bytes"):
        out[k] = statistics.median(r[k] for r in out["rounds"])
    out["stop_start_s"] = out["save_s"] + out["load_s"]
    return s, out


def _snapshot(port):
    with socket.create_connection(("127.0.0.1", port), timeout=600) as c:
        c.sendall(b"snapshot\r\n")
        buf = b""
        while not buf.endswith(b"\r\n"):
            chunk = c.recv(4096)
            if not chunk:
                break
            buf += chunk
    return buf


def _online_pair(s, loadgen, common, rate, duration, log):
    """One window of the load without a snapshot, then one with a snapshot a third into it."""
    base = lg.run(loadgen, s.port, common + ["--rate", rate, "--duration", duration])
    result = {}

    def take():
        time.sleep(duration / 3)  # a third into the load window
        rss_before = s.rss_mib()
        with open(f"/proc/{s.proc.pid}/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS
        t0 = time.monotonic()
        reply = _snapshot(s.port)
        result["wall_s"] = time.monotonic() - t0
        result["reply"] = reply.decode(errors="replace").strip()
        result["extra_mib"] = _status(s.proc.pid, "VmHWM") - rss_before

    t = threading.Thread(target=take)
    t.start()
    under = lg.run(loadgen, s.port, common + ["--rate", rate, "--duration", duration])
    t.join()
    st = s.stats()
    pair = {"baseline": base["latency_us"], "with_snapshot": under["latency_us"],
            "snapshot_ms": int(st.get("snapshot_last_ms", 0)),
            "snapshot_status": st.get("snapshot_last_status"), **result}
    pair["p99_ratio"] = (under["latency_us"]["p99"] / base["latency_us"]["p99"]
                         if base["latency_us"]["p99"] else None)
    print(f"  online snapshot at {rate:,}/s: {pair.get('reply')} in {pair.get('wall_s', 0):.2f} s, "
          f"extra memory {pair.get('extra_mib', 0):.1f} MiB, p99 {base['latency_us']['p99']:.0f} "
          f"-> {under['latency_us']['p99']:.0f} us, max {base['latency_us']['max'] / 1000:.1f} "
          f"-> {under['latency_us']['max'] / 1000:.1f} ms", file=log, flush=True)
    return pair


def _online(s, loadgen, keys, key_size, value_size, duration, log, pairs=3):
    """`pairs` windows without and with a snapshot, alternating: on this VM a single baseline
    window's p99 moved 0.2-6.5 ms from one run to the next. Medians over the pairs, the
    largest extra memory."""
    common = ["--keys", keys, "--key-size", key_size, "--value-size", value_size, "--ratio",
              "1:9", "-c", 4]
    sat = lg.run(loadgen, s.port, common + ["--duration", 3])
    rate = int(sat["requests_per_sec"] / 2)
    runs = [_online_pair(s, loadgen, common, rate, duration, log) for _ in range(pairs)]

    def med(f):
        values = [f(r) for r in runs if f(r) is not None]
        return statistics.median(values) if values else None

    return {"saturation_rps": sat["requests_per_sec"], "rate": rate, "pairs": runs,
            "reply": "/".join(r.get("reply", "?") for r in runs),
            "wall_s": med(lambda r: r.get("wall_s")),
            "snapshot_ms": med(lambda r: r["snapshot_ms"]),
            "extra_mib": max(r.get("extra_mib", 0) for r in runs),
            "baseline": {"p99": med(lambda r: r["baseline"]["p99"]),
                         "max": med(lambda r: r["baseline"]["max"])},
            "with_snapshot": {"p99": med(lambda r: r["with_snapshot"]["p99"]),
                              "max": med(lambda r: r["with_snapshot"]["max"])},
            "p99_ratio": med(lambda r: r["p99_ratio"])}


def run(binaries, loadgen, memory_mb, threads, rounds, online_duration, log=sys.stderr,
        key_size=10, value_size=100):
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()
    out = {"memory_mb": memory_mb, "threads": threads, "key_size": key_size,
           "value_size": value_size, "dir": shm, "servers": {}}
    for name, (binary, kind) in binaries.items():
        d = tempfile.mkdtemp(prefix=f"cachet-bench-restart-{name}-", dir=shm)
        s = None
        try:
            s, out["servers"][name] = _cycle(name, binary, kind, threads, memory_mb,
                                             os.path.join(d, "cache"), loadgen, rounds,
                                             key_size, value_size, log)
            if kind == "cachet":
                out["online"] = _online(s, loadgen, out["servers"][name]["written"], key_size,
                                        value_size, online_duration, log)
        finally:
            if s is not None:
                s.stop()
            shutil.rmtree(d, ignore_errors=True)
    c, m = out["servers"].get("cachet"), out["servers"].get("memcached")
    if c and m:
        out["stop_start_ratio"] = c["stop_start_s"] / m["stop_start_s"]
    if c:
        out["file_over_live"] = c["file_bytes"] / c["live_bytes"]
        out["load_peak_over_steady_mib"] = c["load_peak_rss_mib"] - c["steady_rss_mib"]
    return out


def table_lines(r):
    lines = [f"Warm restart: -m {r['memory_mb']} full of {r['key_size']} B / {r['value_size']} B "
             f"items, files on {r['dir']} (median of rounds)"]
    for n, v in r["servers"].items():
        lines.append(f"  {n:<10} {v['items']:>10,} items  save {v['save_s']:.2f} s  load "
                     f"{v['load_s']:.2f} s  stop+start {v['stop_start_s']:.2f} s  file "
                     f"{v['file_bytes'] / 2**20:.0f} MiB  peak RSS {v['load_peak_rss_mib']:.0f} "
                     f"MiB (steady {v['steady_rss_mib']:.0f})")
    if "file_over_live" in r:
        lines.append(f"  cachet file / live item bytes: {r['file_over_live']:.4f}; load peak RSS "
                     f"- steady: {r['load_peak_over_steady_mib']:+.0f} MiB")
    if "stop_start_ratio" in r:
        lines.append(f"  stop+start cachet/memcached: {r['stop_start_ratio']:.2f}")
    o = r.get("online")
    if o:
        lines.append(f"  online snapshot at {o['rate']:,} req/s (half of saturation), median of "
                     f"{len(o.get('pairs', [])) or 1} pairs of windows: {o.get('reply')} in "
                     f"{o.get('wall_s') or 0:.2f} s ({o['snapshot_ms']:.0f} ms writing), extra "
                     f"memory {o.get('extra_mib', 0):.1f} MiB (largest), p99 "
                     f"{o['baseline']['p99']:.0f} -> {o['with_snapshot']['p99']:.0f} us (pair "
                     f"ratios' median {o['p99_ratio'] or 0:.2f}x), slowest request "
                     f"{o['baseline']['max'] / 1000:.1f} -> {o['with_snapshot']['max'] / 1000:.1f} "
                     f"ms")
        for k, p in enumerate(o.get("pairs", [])):
            lines.append(f"    pair {k + 1}: p99 {p['baseline']['p99']:.0f} -> "
                         f"{p['with_snapshot']['p99']:.0f} us ({p['p99_ratio'] or 0:.2f}x), max "
                         f"{p['baseline']['max'] / 1000:.1f} -> "
                         f"{p['with_snapshot']['max'] / 1000:.1f} ms, {p.get('wall_s', 0):.2f} s")
    return lines
