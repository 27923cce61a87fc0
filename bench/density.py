#!/usr/bin/python3
"""Items per MiB of -m: fills cachet and Debian's memcached side by side with fixed-size items
until evictions start, writes 50 % more, then reads every key back and counts what survived
(benchkit/density.py; needs build/bench/loadgen, built by `make build`). Also part of
run_bench.py.

    bench/density.py [--cachet build/cachet] [--memcached /usr/bin/memcached] [-m 64] [-t 4]
                     [--sizes 10:32,10:100,40:400,16:4096]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchkit import density  # noqa: E402


def main():
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser()
    ap.add_argument("--cachet", default=os.path.join(here, "build", "cachet"))
    ap.add_argument("--memcached", default="/usr/bin/memcached")
    ap.add_argument("--loadgen", default=os.path.join(here, "build", "bench", "loadgen"))
    ap.add_argument("-m", type=int, default=64)
    ap.add_argument("-t", type=int, default=4)
    ap.add_argument("--sizes", default=",".join(f"{k}:{v}" for k, v in density.SIZES))
    args = ap.parse_args()
    sizes = [tuple(int(x) for x in s.split(":")) for s in args.sizes.split(",")]
    binaries = {"memcached": (args.memcached, "memcached"), "cachet": (args.cachet, "cachet")}
    return density.run(binaries, args.loadgen, args.m, args.t, sizes, log=sys.stdout)


if __name__ == "__main__":
    main()
