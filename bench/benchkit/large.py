"""Large values: server CPU per operation for get and set of 100 KB and 1 MB values (single
keys, and 4-key multigets), cachet beside memcached and the no-op floor, interleaved as the cpu
step is. cachet copies a value into the connection before sending it; memcached sends from the
item (issue 18's "large values without copies" is measured here). Each server is written
through twice its -m first: cachet's segments take new writes until -m is used up, so without
that the first runs would time the kernel handing out fresh pages, not the steady state."""
import sys

from . import cpu
from . import loadgen as lg
from .servers import Server, check_alive, stop_all

SIZES = (100_000, 1_000_000)
KEYS = 100  # 100 MB of 1 MB values: all hits at -m 256
MEMORY_MB = 256
WORKLOADS = {
    "get p1": ["--ratio", "0:1"],
    "set p1": ["--ratio", "1:0"],
    "multiget 4": ["--ratio", "0:1", "--multiget", "4"],
}


def run(a, log=sys.stderr):
    out = {"keys": KEYS, "memory_mb": MEMORY_MB, "threads": a.threads, "sizes": {}}
    for size in SIZES:
        servers = []
        try:
            for name, binary, kind in (("cachet", a.cachet, "cachet"),
                                       ("memcached", a.memcached, "memcached"),
                                       ("noop", a.noop, "noop")):
                extra = ["-v", str(size)] if kind == "noop" else []
                servers.append(Server(name, binary, kind, a.threads, MEMORY_MB, extra).start())
            for s in servers:
                cpu.prefill(s, a.loadgen, KEYS, a.key_size, size)
                lg.run(a.loadgen, s.port, ["--ratio", "1:0", "--keys", KEYS, "--key-size",
                                           a.key_size, "--value-size", size, "-c", 1,
                                           "--pipeline", 4, "--duration", 3600, "--requests",
                                           2 * MEMORY_MB * 2**20 // size])
            print(f"Large values, {size:,} B: {len(WORKLOADS)} workloads x {a.large_rounds} "
                  f"rounds x 6 runs of {a.large_duration:g} s", file=log, flush=True)
            common = ["--keys", KEYS, "--key-size", a.key_size, "--value-size", size, "-c", 2,
                      "--duration", a.large_duration]
            samples = cpu.run_interleaved(servers, a.loadgen, list(WORKLOADS), a.large_rounds,
                                          common, log, WORKLOADS)
            out["sizes"][size] = cpu.summarize(samples, servers)
            check_alive(servers)
        finally:
            stop_all(servers)
    return out


def table_lines(r):
    lines = [f"Large values: server CPU per operation (-t {r['threads']}, {r['keys']} keys, "
             f"-m {r['memory_mb']}; median of rounds)"]
    lines.append(f"{'value, workload':<22} {'cachet us/op':>12} {'memcached':>10} {'floor':>9} "
                 f"{'cachet/memcached':>17} {'cachet/floor':>13}")
    for size, rows in r["sizes"].items():
        for w, row in rows.items():
            s, q = row["servers"], row["ratios"]
            c, m, n = (s.get(k, {}).get("cpu_us_per_op") for k in ("cachet", "memcached", "noop"))
            label = f"{int(size) // 1000:,} KB {w}"
            lines.append(f"{label:<22} {c or 0:12.1f} {m or 0:10.1f} {n or 0:9.1f} "
                         f"{q.get('cachet/memcached') or 0:17.2f} {q.get('cachet/floor') or 0:13.2f}")
    return lines
