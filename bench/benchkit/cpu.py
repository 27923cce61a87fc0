"""Server CPU per operation, measured interleaved: every workload runs against each server in
the order A B C C B A in every round, so drift in the shared machine's load (another build,
thermal state) lands on all servers alike. CPU comes from the server's /proc/<pid>/stat
(utime + stime, all threads) around one load-generator run, divided by the operations the load
generator completed; the server's own cmd_get + cmd_set deltas cross-check that count."""
import statistics
import sys

from . import loadgen as lg

# name -> load generator arguments. An operation is one key fetched or one item stored, as
# memcached's cmd_get/cmd_set count them (a 16-key multiget is 16 operations).
WORKLOADS = {
    "get p1": ["--ratio", "0:1"],
    "set p1": ["--ratio", "1:0"],
    "get p16": ["--ratio", "0:1", "--pipeline", "16"],
    "set p16": ["--ratio", "1:0", "--pipeline", "16"],
    "multiget 16": ["--ratio", "0:1", "--multiget", "16"],
    "mixed 90/10": ["--ratio", "1:9"],
    # Not in the default list: the meta protocol's mg/ms.
    "meta get p16": ["--ratio", "0:1", "--pipeline", "16", "-P", "meta"],
}
DEFAULT_WORKLOADS = ["get p1", "set p1", "get p16", "set p16", "multiget 16", "mixed 90/10"]


def prefill(server, loadgen, keys, key_size, value_size):
    """Stores every key once (pipelined), so gets hit and sets overwrite same-size items."""
    return lg.run(loadgen, server.port, ["--dist", "seq", "--keys", keys, "--ratio", "1:0",
                                         "--pipeline", 64, "--key-size", key_size,
                                         "--value-size", value_size])


def _counted_ops(before, after):
    return sum(int(after.get(k, 0)) - int(before.get(k, 0)) for k in ("cmd_get", "cmd_set"))


def measure(server, loadgen, args):
    """One load-generator run; the server's CPU seconds and operations around it."""
    before = server.stats()
    cpu0 = server.cpu_seconds()
    r = lg.run(loadgen, server.port, args)
    cpu1 = server.cpu_seconds()
    after = server.stats()
    ops = r["ops"]
    counted = _counted_ops(before, after)
    return {
        "cpu_s": cpu1 - cpu0,
        "ops": ops,
        "server_counted_ops": counted,
        "cpu_us_per_op": (cpu1 - cpu0) * 1e6 / ops if ops else None,
        "ops_per_sec": r["ops_per_sec"],
        "latency_us": r["latency_us"],
        "hits": r["hits"],
        "misses": r["misses"],
        "errors": r["errors"],
    }


def run_interleaved(servers, loadgen, names, rounds, common_args, log=sys.stderr,
                    workloads=None):
    """samples[workload][server] = [measure(), ...], rounds * 2 per server; `workloads` maps
    names to load generator arguments (default WORKLOADS)."""
    workloads = WORKLOADS if workloads is None else workloads
    samples = {w: {s.name: [] for s in servers} for w in names}
    order = servers + servers[::-1]
    for rnd in range(rounds):
        for w in names:
            for s in order:
                args = workloads[w] + common_args + ["--seed", rnd + 1]
                m = measure(s, loadgen, args)
                samples[w][s.name].append(m)
                print(f"  round {rnd + 1}/{rounds} {w:<13} {s.name:<10} "
                      f"{m['cpu_us_per_op']:.3f} us/op  {m['ops_per_sec']:>10,.0f} ops/s",
                      file=log, flush=True)
    return samples


def summarize(samples, servers):
    """Median CPU per op and ops/s per workload and server, and the ratios cachet/memcached and
    cachet/floor (the no-op server) of the medians."""
    out = {}
    for w, by_server in samples.items():
        row = {}
        for name, ms in by_server.items():
            cpu = [m["cpu_us_per_op"] for m in ms if m["cpu_us_per_op"] is not None]
            mismatch = max((abs(m["server_counted_ops"] - m["ops"]) / max(m["ops"], 1)
                            for m in ms), default=0)
            row[name] = {
                "cpu_us_per_op": statistics.median(cpu) if cpu else None,
                "cpu_us_per_op_min": min(cpu) if cpu else None,
                "cpu_us_per_op_max": max(cpu) if cpu else None,
                "ops_per_sec": statistics.median(m["ops_per_sec"] for m in ms),
                "p99_us": statistics.median(m["latency_us"]["p99"] for m in ms),
                "errors": sum(m["errors"] for m in ms),
                "stats_mismatch": mismatch,
                "samples": len(ms),
            }
        ratios = {}
        c = row.get("cachet", {}).get("cpu_us_per_op")
        for other, label in (("memcached", "cachet/memcached"), ("noop", "cachet/floor")):
            o = row.get(other, {}).get("cpu_us_per_op")
            ratios[label] = c / o if c and o else None
        out[w] = {"servers": row, "ratios": ratios}
    return out
