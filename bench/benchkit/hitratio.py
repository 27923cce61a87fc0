"""Hit ratio of one deterministic look-aside trace (Zipf keys; get, and set the key on a miss)
against cachet and memcached at the same -m: the eviction policies compared at equal memory."""
import sys

from . import loadgen as lg
from .servers import Server


def run(binaries, loadgen, memory_mb, keys, requests, warmup, key_size, value_size, theta,
        log=sys.stderr):
    out = {"memory_mb": memory_mb, "keys": keys, "requests": requests, "warmup": warmup,
           "key_size": key_size, "value_size": value_size, "zipf_theta": theta, "servers": {}}
    for name, (binary, kind) in binaries.items():
        with Server(name, binary, kind, threads=1, memory_mb=memory_mb) as s:
            # One connection and a fixed seed: the same key sequence for both servers.
            r = lg.run(loadgen, s.port, ["--lookaside", "--dist", "zipf", "--zipf-theta", theta,
                                         "--keys", keys, "--requests", warmup + requests,
                                         "--warmup", warmup, "--pipeline", 16, "-c", 1,
                                         "--key-size", key_size, "--value-size", value_size,
                                         "--seed", 42])
            st = s.stats()
        hr = r["lookaside"]["hit_ratio"]
        if hr is None:
            raise RuntimeError("hit ratio: no gets after the warm-up")
        out["servers"][name] = {"hit_ratio": hr, "miss_ratio": 1 - hr,
                                "curr_items": int(st.get("curr_items", 0)),
                                "evictions": int(st.get("evictions", 0))}
        print(f"  {name:<10} hit ratio {hr:.4f} (items {st.get('curr_items')}, "
              f"evictions {st.get('evictions')})", file=log, flush=True)
    c, m = out["servers"].get("cachet"), out["servers"].get("memcached")
    out["miss_ratio_cachet_over_memcached"] = (
        c["miss_ratio"] / m["miss_ratio"] if c and m and m["miss_ratio"] else None)
    return out
