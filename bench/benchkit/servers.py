"""Starting the servers under test on loopback and reading what they cost: CPU time from
/proc/<pid>/stat, RSS from /proc/<pid>/status, counters from the memcached `stats` command."""
import os
import shutil
import socket
import subprocess
import tempfile
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


class Server:
    """One server process. `kind` is cachet, memcached or noop; all three take -p/-t and write
    MEMCACHED_PORT_FILENAME once listening, so they start the same way."""

    def __init__(self, name, binary, kind, threads, memory_mb, extra=()):
        self.name, self.binary, self.kind = name, binary, kind
        self.args = [binary, "-p", "-1", "-t", str(threads)]
        if kind == "noop":
            self.args += ["-l", "127.0.0.1"]
        else:
            self.args += ["-l", "127.0.0.1", "-U", "0", "-m", str(memory_mb)]
            if os.geteuid() == 0:
                self.args += ["-u", "root"]
        self.args += list(extra)
        self.proc = None
        self.port = None
        self.stats_port = None  # a plaintext listener for stats when `port` speaks TLS
        self._tmp = None

    def start(self):
        self._tmp = tempfile.mkdtemp(prefix="cachet-bench-")
        port_file = os.path.join(self._tmp, "port")
        env = dict(os.environ, MEMCACHED_PORT_FILENAME=port_file)
        self.proc = subprocess.Popen(self.args, env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited at startup: {' '.join(self.args)}")
            try:
                with open(port_file) as f:  # written atomically by all three servers
                    for line in f.read().splitlines():
                        if line.startswith("TCP INET:"):
                            self.port = int(line.split(":")[1])
                            return self
            except (FileNotFoundError, ValueError):
                pass
            time.sleep(0.01)  # waiting for startup only
        raise RuntimeError(f"{self.name} did not start: {' '.join(self.args)}")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def cpu_seconds(self):
        """utime + stime of all the process's threads so far (CLK_TCK resolution, 10 ms)."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # fields 14 and 15 of stat(5)

    def rss_mib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def stats(self):
        with socket.create_connection(("127.0.0.1", self.stats_port or self.port),
                                      timeout=10) as s:
            s.sendall(b"stats\r\n")
            buf = b""
            while not buf.endswith(b"END\r\n"):
                chunk = s.recv(65536)
                if not chunk:
                    raise RuntimeError(f"{self.name}: connection closed during stats")
                buf += chunk
        out = {}
        for line in buf.decode().split("\r\n"):
            parts = line.split(" ")
            if len(parts) == 3 and parts[0] == "STAT":
                out[parts[1]] = parts[2]
        return out

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def check_alive(servers):
    """After a run: every server still up (a crash would otherwise look like a slow run)."""
    for s in servers:
        if not s.alive():
            raise RuntimeError(f"{s.name} died during the run")


def stop_all(servers):
    for s in servers:
        s.stop()
