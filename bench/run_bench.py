#!/usr/bin/python3
"""cachet vs Debian's memcached 1.6.18 vs a no-op server, on loopback, interleaved.

Measures server CPU per operation for six workloads (the headline: ratios, not ops/s), p99
latency at a fixed moderate rate, the hit ratio of one look-aside Zipf trace at equal -m,
density (items per MiB of -m), and a full cache's save and load with -e (and an online snapshot
under load); runs the micro benchmarks if they are built. Prints a table,
writes bench/results/latest.json and bench/results/ratios.png. See bench/README.md.

    bench/run_bench.py            # about 10-15 minutes on a 2-core machine
    bench/run_bench.py --quick    # about a minute: one round, short runs, small sizes
"""
import argparse
import datetime
import importlib.util
import json
import os
import platform
import subprocess
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchkit import (cpu, density, hitratio, large, latency, prefix, report, restart,  # noqa: E402
                      scaling, tls)
from benchkit.servers import Server, check_alive, stop_all  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS = ["cpu", "latency", "large", "scaling", "tls", "hitratio", "density", "restart", "prefix", "micro"]


def parse_args():
    b = os.path.join(ROOT, "build")
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a ~3-minute smoke version")
    ap.add_argument("--cachet", default=os.path.join(b, "cachet"))
    ap.add_argument("--memcached", default="/usr/bin/memcached")
    ap.add_argument("--noop", default=os.path.join(b, "bench", "noop_server"))
    ap.add_argument("--loadgen", default=os.path.join(b, "bench", "loadgen"))
    ap.add_argument("--micro", default=os.path.join(b, "bench", "micro_bench"))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    ap.add_argument("--skip", default="", help="comma-separated steps to skip: " + ",".join(STEPS))
    g = ap.add_argument_group("CPU per operation")
    g.add_argument("--workloads", default=",".join(cpu.DEFAULT_WORKLOADS),
                   help="comma-separated, from: " + ", ".join(cpu.WORKLOADS))
    g.add_argument("--rounds", type=int, help="rounds of A B C C B A (default 4, quick 1)")
    g.add_argument("--duration", type=float, help="seconds per run (default 3, quick 1)")
    g.add_argument("-t", "--threads", type=int, default=1, help="server threads (default 1)")
    g.add_argument("-m", "--memory", type=int, default=64, help="server -m (default 64)")
    g.add_argument("--keys", type=int, default=100000, help="key space, prefilled (all hits)")
    g.add_argument("--key-size", type=int, default=10)
    g.add_argument("--value-size", type=int, default=100)
    g.add_argument("-c", "--connections", type=int, default=4)
    g = ap.add_argument_group("latency at a fixed rate")
    g.add_argument("--rate", type=int, default=20000, help="requests/s (default 20000)")
    g.add_argument("--lat-connections", type=int, default=4)
    g.add_argument("--lat-duration", type=float, help="seconds per run (default 5, quick 1)")
    g.add_argument("--lat-rounds", type=int, help="default 3, quick 1")
    g = ap.add_argument_group("large values (100 KB, 1 MB), -t as above")
    g.add_argument("--large-rounds", type=int, help="default 2, quick 1")
    g.add_argument("--large-duration", type=float, help="seconds per run (default 2, quick 0.5)")
    g = ap.add_argument_group("TLS (-Z): cachet and memcached only")
    g.add_argument("--tls-workloads", default=",".join(tls.WORKLOADS),
                   help="comma-separated, from: " + ", ".join(tls.WORKLOADS))
    g.add_argument("--handshakes", type=int, help="connections per handshake run (default 2000, "
                   "quick 200)")
    g = ap.add_argument_group("hit ratio")
    g.add_argument("--hit-memory", type=int, default=16, help="-m for both (default 16)")
    g.add_argument("--hit-keys", type=int, default=1000000)
    g.add_argument("--hit-requests", type=int, help="measured gets (default 3M, quick 400k)")
    g.add_argument("--hit-warmup", type=int, help="warm-up gets (default 1M, quick 400k)")
    g.add_argument("--zipf-theta", type=float, default=0.99)
    g = ap.add_argument_group("density")
    g.add_argument("--density-memory", type=int, help="-m (default 64, quick 16)")
    g.add_argument("--density-threads", type=int, default=4)
    g.add_argument("--density-sizes", default=",".join(f"{k}:{v}" for k, v in density.SIZES))
    g = ap.add_argument_group("warm restart (-e) and online snapshot")
    g.add_argument("--restart-memory", type=int, help="-m filled (default 1024, quick 64)")
    g.add_argument("--restart-rounds", type=int, help="stop/start rounds (default 3, quick 1)")
    g.add_argument("--restart-threads", type=int, default=4)
    g.add_argument("--online-duration", type=float,
                   help="seconds of load around the snapshot (default 9, quick 3)")
    g = ap.add_argument_group("invalidation by prefix")
    g.add_argument("--prefix-sizes", help="cache sizes in items (default 1000000,10000000, "
                   "quick 100000)")
    g.add_argument("--prefix-memory", type=int, default=3072, help="-m for both (default 3072)")
    g = ap.add_argument_group("micro benchmarks")
    g.add_argument("--micro-min-time", type=float, help="seconds each (default 0.3, quick 0.01)")
    a = ap.parse_args()
    q = a.quick
    for name, full, quick in (("rounds", 4, 1), ("duration", 3.0, 1.0), ("lat_duration", 5.0, 1.0),
                              ("lat_rounds", 3, 1), ("large_rounds", 2, 1),
                              ("large_duration", 2.0, 0.5), ("hit_requests", 3000000, 400000),
                              ("hit_warmup", 1000000, 400000), ("density_memory", 64, 16),
                              ("restart_memory", 1024, 64), ("restart_rounds", 3, 1),
                              ("online_duration", 9.0, 3.0),
                              ("prefix_sizes", "1000000,10000000", "100000"),
                              ("micro_min_time", 0.3, 0.01), ("handshakes", 2000, 200)):
        if getattr(a, name) is None:
            setattr(a, name, quick if q else full)
    a.skip = {s for s in a.skip.split(",") if s}
    unknown = a.skip - set(STEPS)
    if unknown:
        ap.error(f"unknown steps to skip: {unknown}")
    a.workloads = [w.strip() for w in a.workloads.split(",") if w.strip()]
    a.tls_workloads = [w.strip() for w in a.tls_workloads.split(",") if w.strip()]
    for w in a.tls_workloads:
        if w not in tls.WORKLOADS:
            ap.error(f"unknown TLS workload {w!r}")
    for w in a.workloads:
        if w not in cpu.WORKLOADS:
            ap.error(f"unknown workload {w!r}")
    for path in (a.cachet, a.memcached, a.noop, a.loadgen):
        if not os.access(path, os.X_OK):
            ap.error(f"not found: {path} (make build; apt-get install memcached)")
    return a


def meta():
    def cmd(*c):
        try:
            return subprocess.run(c, capture_output=True, text=True, cwd=ROOT).stdout.strip()
        except OSError:
            return None
    return {"when": datetime.datetime.now().isoformat(timespec="seconds"),
            "host": platform.node(), "kernel": platform.release(), "cpus": os.cpu_count(),
            "git": cmd("git", "rev-parse", "--short", "HEAD"),
            "loadavg_start": os.getloadavg()}


def run_cpu_and_latency(a, results, log):
    kinds = (("cachet", a.cachet, "cachet"), ("memcached", a.memcached, "memcached"),
             ("noop", a.noop, "noop"))
    servers = []
    try:
        for name, binary, kind in kinds:
            extra = ["-v", a.value_size] if kind == "noop" else []
            servers.append(Server(name, binary, kind, a.threads, a.memory,
                                  [str(e) for e in extra]).start())
        for s in servers:
            cpu.prefill(s, a.loadgen, a.keys, a.key_size, a.value_size)
        common = ["--keys", a.keys, "--key-size", a.key_size, "--value-size", a.value_size]
        if "cpu" not in a.skip:
            print(f"CPU per op: {len(a.workloads)} workloads x {a.rounds} rounds x 6 runs of "
                  f"{a.duration:g} s", file=log, flush=True)
            samples = cpu.run_interleaved(servers, a.loadgen, a.workloads, a.rounds,
                                          common + ["-c", a.connections, "--duration", a.duration],
                                          log)
            results["cpu"] = cpu.summarize(samples, servers)
            results["cpu_samples"] = samples
        if "latency" not in a.skip:
            print(f"Latency at {a.rate}/s: {a.lat_rounds} rounds x 6 runs of {a.lat_duration:g} s",
                  file=log, flush=True)
            results["latency"] = latency.run(servers, a.loadgen, a.lat_rounds, a.rate,
                                             a.lat_connections, a.lat_duration, common, log)
        check_alive(servers)
    finally:
        stop_all(servers)


def run_micro(a, log):
    if not os.access(a.micro, os.X_OK):
        print("micro benchmarks not built (cmake -DCACHET_BUILD_BENCH=ON; make bench does it)",
              file=log)
        return None
    print("Micro benchmarks", file=log, flush=True)
    out = subprocess.run([a.micro, "--benchmark_format=json",
                          f"--benchmark_min_time={a.micro_min_time}"],
                         capture_output=True, text=True, check=True).stdout
    scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}
    return [{"name": b["name"], "ns": b["cpu_time"] * scale[b.get("time_unit", "ns")]}
            for b in json.loads(out)["benchmarks"]]


def main():
    a = parse_args()
    log = sys.stderr
    results = {"meta": meta(), "config": {k: (sorted(v) if isinstance(v, set) else v)
                                          for k, v in vars(a).items()}}
    binaries = {"cachet": (a.cachet, "cachet"), "memcached": (a.memcached, "memcached")}
    failed = False
    try:
        if not {"cpu", "latency"} <= a.skip:
            run_cpu_and_latency(a, results, log)
        if "large" not in a.skip:
            results["large"] = large.run(a, log)
        if "scaling" not in a.skip:
            results["scaling"] = scaling.run(a, log)
        if "tls" not in a.skip:
            results["tls"] = tls.run(a, log)
        if "hitratio" not in a.skip:
            print("Hit ratio (look-aside trace)", file=log, flush=True)
            results["hit_ratio"] = hitratio.run(binaries, a.loadgen, a.hit_memory, a.hit_keys,
                                                a.hit_requests, a.hit_warmup, a.key_size,
                                                a.value_size, a.zipf_theta, log)
        if "density" not in a.skip:
            print(f"Density (-m {a.density_memory})", file=log, flush=True)
            sizes = [tuple(int(x) for x in s.split(":")) for s in a.density_sizes.split(",")]
            results["density"] = density.run(binaries, a.loadgen, a.density_memory,
                                             a.density_threads, sizes, log)
        if "restart" not in a.skip:
            print(f"Warm restart (-m {a.restart_memory}, -e on tmpfs)", file=log, flush=True)
            results["restart"] = restart.run(binaries, a.loadgen, a.restart_memory,
                                             a.restart_threads, a.restart_rounds,
                                             a.online_duration, log)
        if "prefix" not in a.skip:
            print("Invalidation by prefix", file=log, flush=True)
            sizes = [int(n) for n in a.prefix_sizes.split(",")]
            results["prefix"] = prefix.run(binaries, sizes, a.prefix_memory, log)
        if "micro" not in a.skip:
            results["micro"] = run_micro(a, log)
    except Exception as e:  # keep what was measured; say what failed
        traceback.print_exc()
        results["error"] = f"{type(e).__name__}: {e}"
        failed = True
    results["meta"]["loadavg_end"] = os.getloadavg()
    json_path = os.path.join(a.out, "latest.json")
    report.write_json(results, json_path)
    print()
    print(report.table(results))
    if "cpu" in results and importlib.util.find_spec("matplotlib") is not None:
        png = os.path.join(a.out, "ratios.png")
        report.plot(results, png)
        print(f"\nwrote {json_path} and {png}")
    else:
        # By hand without python3-matplotlib (make bench installs it): the figures, no plot.
        print(f"\nwrote {json_path}")
    if failed:
        print(f"FAILED: {results['error']}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
