"""Items per MiB of -m: fill a server with fixed-size items until `evictions` starts, write 50 %
more, then read every key back and count what survived. Fill and read-back go through the C++
load generator (pipelined sets, 100-key multigets), chunk by chunk, with `stats` between chunks."""
import sys

from . import loadgen as lg
from .servers import Server

SIZES = [(10, 32), (10, 100), (40, 400), (16, 4096)]


def measure(name, binary, kind, loadgen, memory_mb, threads, key_size, value_size):
    # About 1/40 of what memcached would hold per chunk: evictions are seen within 2.5 %.
    chunk = max(1000, memory_mb * 1024 * 1024 // (key_size + value_size + 60) // 40)
    sizes = ["--key-size", key_size, "--value-size", value_size]
    with Server(name, binary, kind, threads=threads, memory_mb=memory_mb) as s:
        written, evicting_at = 0, None
        while evicting_at is None or written < evicting_at * 3 // 2:
            # seq stops after the last key; the long duration only lifts loadgen's 1 s default.
            lg.run(loadgen, s.port, ["--dist", "seq", "--key-start", written, "--keys", chunk,
                                     "--ratio", "1:0", "--pipeline", 64, "-c", 1,
                                     "--duration", 3600] + sizes)
            written += chunk
            if evicting_at is None and int(s.stats()["evictions"]) > 0:
                evicting_at = written
        stats = s.stats()
        rss = s.rss_mib()
        r = lg.run(loadgen, s.port, ["--dist", "seq", "--keys", written, "--multiget", 100,
                                     "--pipeline", 4, "-c", 1, "--duration", 3600] + sizes)
        # Every key must have been asked for, or the count is not a density.
        assert r["get_keys"] == written, (r["get_keys"], written)
    hits = r["hits"]
    return {"written": written, "evicting_at": evicting_at, "hits": hits,
            "items_per_mib": hits / memory_mb, "curr_items": int(stats["curr_items"]),
            "rss_mib": rss, "rss_bytes_per_item": rss * 1024 * 1024 / hits if hits else None}


def run(binaries, loadgen, memory_mb, threads, sizes=SIZES, log=sys.stderr):
    rows = []
    for key_size, value_size in sizes:
        row = {"key": key_size, "value": value_size, "memory_mb": memory_mb, "servers": {}}
        for name, (binary, kind) in binaries.items():
            row["servers"][name] = measure(name, binary, kind, loadgen, memory_mb, threads,
                                           key_size, value_size)
        c, m = row["servers"].get("cachet"), row["servers"].get("memcached")
        row["ratio"] = c["items_per_mib"] / m["items_per_mib"] if c and m else None
        rows.append(row)
        parts = [f"{n} {v['items_per_mib']:,.0f}/MiB (RSS {v['rss_mib']:.1f} MiB, "
                 f"{v['rss_bytes_per_item'] or 0:.0f} B/item)" for n, v in row["servers"].items()]
        print(f"  {key_size:>3} B / {value_size:>5} B, -m {memory_mb}: " + ", ".join(parts) +
              (f", ratio {row['ratio']:.2f}x" if row["ratio"] else ""), file=log, flush=True)
    return rows
