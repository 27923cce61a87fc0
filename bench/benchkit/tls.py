"""TLS rows: cachet -Z and memcached -Z side by side, interleaved (A B B A each round), with one
certificate made for the run (RSA 2048, the usual deployment). Server CPU per operation for the
TLS workloads, and the handshake rate: new TLS connections one client thread opens per second
(a full handshake, one `version`, a close), with the server CPU each costs. Each server also
gets a `notls` listener that the prefill and the stats use, so neither is measured over TLS."""
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile

from . import cpu
from . import loadgen as lg
from .servers import Server, check_alive, stop_all

WORKLOADS = ["get p1", "set p1", "get p16", "set p16", "multiget 16"]


def make_certificate(directory):
    key, crt = os.path.join(directory, "bench.key"), os.path.join(directory, "bench.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", crt, "-days", "2", "-subj", "/CN=127.0.0.1"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return crt, key


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_servers(binaries, threads, memory, crt, key):
    servers = []
    for name, binary in binaries:
        plain = _free_port()
        s = Server(name, binary, name, threads, memory,
                   ["-Z", "-o", f"ssl_chain_cert={crt},ssl_key={key}",
                    "-l", f"notls:127.0.0.1:{plain}"])
        s.stats_port = plain  # the TLS listener is the first in the port file
        servers.append(s.start())
    return servers


def handshakes(servers, loadgen, rounds, count, log=sys.stderr):
    """samples[server] = [{"per_sec", "cpu_us_per_handshake"}, ...], 2 per round."""
    samples = {s.name: [] for s in servers}
    order = servers + servers[::-1]
    for rnd in range(rounds):
        for s in order:
            cpu0 = s.cpu_seconds()
            r = lg.run(loadgen, s.port, ["--handshakes", count])
            used = s.cpu_seconds() - cpu0
            m = {"per_sec": r["handshakes_per_sec"],
                 "cpu_us_per_handshake": used * 1e6 / r["handshakes"]}
            samples[s.name].append(m)
            print(f"  round {rnd + 1}/{rounds} handshakes    {s.name:<10} "
                  f"{m['cpu_us_per_handshake']:.1f} us each  {m['per_sec']:,.0f}/s",
                  file=log, flush=True)
    out = {}
    for name, ms in samples.items():
        out[name] = {"per_sec": statistics.median(m["per_sec"] for m in ms),
                     "cpu_us_per_handshake": statistics.median(m["cpu_us_per_handshake"]
                                                               for m in ms),
                     "samples": len(ms)}
    c, m = out.get("cachet"), out.get("memcached")
    ratios = {}
    if c and m:
        ratios["rate cachet/memcached"] = c["per_sec"] / m["per_sec"]
        ratios["cpu cachet/memcached"] = c["cpu_us_per_handshake"] / m["cpu_us_per_handshake"]
    return {"servers": out, "ratios": ratios, "count": count, "samples": samples}


def run(a, log=sys.stderr):
    tmp = tempfile.mkdtemp(prefix="cachet-bench-tls-")
    servers = []
    try:
        crt, key = make_certificate(tmp)
        servers = start_servers((("cachet", a.cachet), ("memcached", a.memcached)), a.threads,
                                a.memory, crt, key)
        for s in servers:
            lg.run(a.loadgen, s.stats_port, ["--dist", "seq", "--keys", a.keys, "--ratio", "1:0",
                                             "--pipeline", 64, "--key-size", a.key_size,
                                             "--value-size", a.value_size])
        common = ["--tls", "--keys", a.keys, "--key-size", a.key_size, "--value-size",
                  a.value_size, "-c", a.connections, "--duration", a.duration]
        workloads = [w for w in WORKLOADS if w in a.tls_workloads]
        print(f"TLS CPU per op: {len(workloads)} workloads x {a.rounds} rounds x 4 runs of "
              f"{a.duration:g} s", file=log, flush=True)
        samples = cpu.run_interleaved(servers, a.loadgen, workloads, a.rounds, common, log)
        result = {"cpu": cpu.summarize(samples, servers), "cpu_samples": samples}
        print(f"TLS handshakes: {a.rounds} rounds x 4 runs of {a.handshakes}", file=log,
              flush=True)
        result["handshakes"] = handshakes(servers, a.loadgen, a.rounds, a.handshakes, log)
        check_alive(servers)
        return result
    finally:
        stop_all(servers)
        shutil.rmtree(tmp, ignore_errors=True)
