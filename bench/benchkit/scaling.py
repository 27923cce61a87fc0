"""Two server threads: a 90 % get / 10 % set load from 8 connections, cachet -t 2 beside
memcached -t 2, interleaved as the cpu step is. Reported per server: requests per second, server
CPU per request and its inverse, requests per CPU-second ("per core"), and p99 (issue 18's
"-t 2 rows"). The load generator shares the machine's cores with the server, so the rate is
what this machine gives, and the per-core figure is the one to compare."""
import sys

from . import cpu
from .servers import Server, check_alive, stop_all

THREADS = 2
CONNECTIONS = 8
WORKLOADS = {"mixed 90/10, 8 clients": ["--ratio", "1:9"]}


def run(a, log=sys.stderr):
    servers = []
    try:
        for name, binary, kind in (("cachet", a.cachet, "cachet"),
                                   ("memcached", a.memcached, "memcached")):
            servers.append(Server(name, binary, kind, THREADS, a.memory).start())
        for s in servers:
            cpu.prefill(s, a.loadgen, a.keys, a.key_size, a.value_size)
        print(f"-t {THREADS}: {len(WORKLOADS)} workload x {a.rounds} rounds x 4 runs of "
              f"{a.duration:g} s", file=log, flush=True)
        common = ["--keys", a.keys, "--key-size", a.key_size, "--value-size", a.value_size,
                  "-c", CONNECTIONS, "--duration", a.duration]
        samples = cpu.run_interleaved(servers, a.loadgen, list(WORKLOADS), a.rounds, common, log,
                                      WORKLOADS)
        check_alive(servers)
    finally:
        stop_all(servers)
    out = {"threads": THREADS, "connections": CONNECTIONS, "rows": cpu.summarize(samples, servers)}
    for row in out["rows"].values():
        for v in row["servers"].values():
            v["ops_per_cpu_s"] = 1e6 / v["cpu_us_per_op"] if v["cpu_us_per_op"] else None
        c, m = (row["servers"].get(k, {}).get("ops_per_cpu_s") for k in ("cachet", "memcached"))
        row["ratios"]["per core cachet/memcached"] = c / m if c and m else None
    return out


def table_lines(r):
    lines = [f"-t {r['threads']}, {r['connections']} connections (median of rounds): requests/s, "
             f"server CPU per request, requests per CPU-second, p99"]
    for w, row in r["rows"].items():
        for n, v in row["servers"].items():
            lines.append(f"  {w:<24} {n:<10} {v['ops_per_sec']:>10,.0f}/s  "
                         f"{v['cpu_us_per_op'] or 0:6.2f} us  {v['ops_per_cpu_s'] or 0:>10,.0f}"
                         f"/CPU-s  p99 {v['p99_us']:7.0f} us")
        lines.append(f"  {w:<24} per core cachet/memcached: "
                     f"{row['ratios'].get('per core cachet/memcached') or 0:.2f}")
    return lines
