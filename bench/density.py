#!/usr/bin/env python3
"""Items per MiB of -m: fills cachet and Debian's memcached side by side with fixed-size items
until evictions start, writes 50 % more, then reads every key back and counts what survived.

    bench/density.py [--cachet build/cachet] [--memcached /usr/bin/memcached] [-m 64]
                     [--sizes 10:32,10:100]
"""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time


def start(binary, memory_mb, threads):
    tmp = tempfile.mkdtemp(prefix="cachet-density-")
    port_file = os.path.join(tmp, "ports")
    env = dict(os.environ, MEMCACHED_PORT_FILENAME=port_file)
    args = [binary, "-l", "127.0.0.1", "-p", "-1", "-U", "0", "-m", str(memory_mb), "-t", str(threads)]
    if os.geteuid() == 0:
        args += ["-u", "root"]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(500):
        if os.path.exists(port_file):
            with open(port_file) as f:
                port = int(f.read().split(":")[1])
            return proc, port
        time.sleep(0.01)  # waiting for startup only
    raise RuntimeError("server did not start: " + binary)


class Client:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    def stats(self):
        self.sock.sendall(b"stats\r\n")
        while not self.buf.endswith(b"END\r\n"):
            self.buf += self.sock.recv(65536)
        out = {}
        for line in self.buf.decode().split("\r\n"):
            parts = line.split(" ")
            if len(parts) == 3 and parts[0] == "STAT":
                out[parts[1]] = parts[2]
        self.buf = b""
        return out

    def set_many(self, keys, value):
        cmds = b"".join(b"set %s 0 0 %d noreply\r\n%s\r\n" % (k, len(value), value) for k in keys)
        self.sock.sendall(cmds)

    def count_hits(self, keys):
        self.sock.sendall(b"get " + b" ".join(keys) + b"\r\n")
        while not self.buf.endswith(b"END\r\n"):
            self.buf += self.sock.recv(1 << 20)
        hits = self.buf.count(b"VALUE ")
        self.buf = b""
        return hits


def measure(binary, memory_mb, key_len, value_len, threads):
    proc, port = start(binary, memory_mb, threads)
    try:
        c = Client(port)
        value = b"v" * value_len
        key = lambda i: (b"%0*d" % (key_len, i))[-key_len:]
        batch = 2000
        i = 0
        evicting_at = None
        while True:
            c.set_many([key(j) for j in range(i, i + batch)], value)
            i += batch
            if evicting_at is None and i % (batch * 10) == 0:
                if int(c.stats()["evictions"]) > 0:
                    evicting_at = i
            if evicting_at is not None and i >= evicting_at * 3 // 2:
                break
        stats = c.stats()
        hits = 0
        for j in range(0, i, 100):
            hits += c.count_hits([key(k) for k in range(j, min(i, j + 100))])
        with open(f"/proc/{proc.pid}/status") as f:
            rss_kib = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
        return {"written": i, "hits": hits, "items_per_mib": hits / memory_mb,
                "curr_items": int(stats["curr_items"]), "rss_mib": rss_kib / 1024}
    finally:
        proc.terminate()
        proc.wait()


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--cachet", default=os.path.join(here, "build", "cachet"))
    ap.add_argument("--memcached", default="/usr/bin/memcached")
    ap.add_argument("-m", type=int, default=64)
    ap.add_argument("-t", type=int, default=4)
    ap.add_argument("--sizes", default="10:32,10:100")
    args = ap.parse_args()
    results = []
    for spec in args.sizes.split(","):
        k, v = (int(x) for x in spec.split(":"))
        row = {"key": k, "value": v}
        for name, binary in (("memcached", args.memcached), ("cachet", args.cachet)):
            row[name] = measure(binary, args.m, k, v, args.t)
        row["ratio"] = row["cachet"]["items_per_mib"] / row["memcached"]["items_per_mib"]
        results.append(row)
        print(f"{k:>3} B key / {v:>5} B value, -m {args.m}: memcached "
              f"{row['memcached']['items_per_mib']:.0f}/MiB (RSS {row['memcached']['rss_mib']:.1f} MiB), "
              f"cachet {row['cachet']['items_per_mib']:.0f}/MiB (RSS {row['cachet']['rss_mib']:.1f} MiB), "
              f"ratio {row['ratio']:.2f}x", flush=True)
    return results


if __name__ == "__main__":
    main()
