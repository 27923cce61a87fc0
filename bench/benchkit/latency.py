"""Latency at a moderate fixed request rate (open loop: each request's latency counts from when
it was due, so a stalled server cannot hide its queueing), interleaved A B .. B A per round."""
import statistics
import sys

from . import loadgen as lg


def run(servers, loadgen, rounds, rate, connections, duration, common_args, log=sys.stderr):
    samples = {s.name: [] for s in servers}
    order = servers + servers[::-1]
    args = ["--ratio", "1:9", "--rate", rate, "-c", connections, "--duration", duration]
    for rnd in range(rounds):
        for s in order:
            r = lg.run(loadgen, s.port, args + common_args + ["--seed", rnd + 1])
            samples[s.name].append(r)
            print(f"  round {rnd + 1}/{rounds} rate {rate}/s {s.name:<10} "
                  f"p50 {r['latency_us']['p50']:.1f} us  p99 {r['latency_us']['p99']:.1f} us "
                  f"({r['requests_per_sec']:,.0f} req/s)", file=log, flush=True)
    out = {"rate": rate, "connections": connections, "duration_s": duration, "servers": {}}
    for name, rs in samples.items():
        out["servers"][name] = {
            q: statistics.median(r["latency_us"][q] for r in rs) for q in ("p50", "p99", "p999")
        }
        out["servers"][name]["achieved_rps"] = statistics.median(r["requests_per_sec"]
                                                                 for r in rs)
        out["servers"][name]["errors"] = sum(r["errors"] for r in rs)
    c, m = out["servers"].get("cachet"), out["servers"].get("memcached")
    out["p99_ratio"] = c["p99"] / m["p99"] if c and m and m["p99"] else None
    return out
