"""libmemcached-tools 1.1.4 (memcstat, memccp, memccat, memcrm, memcflush, ...) against
the server under test, over TCP and a Unix socket.

What the tools put on the wire (text protocol): memcstat "version", "stats " (trailing space)
and "quit"; memccp "set <basename> <flags> <exptime> <len>"; memccat "get <key>"; memcrm
"delete <key>"; memcflush "flush_all " (trailing space); memcexist a zero-length
"add <key> 0 2678400 0" (an absolute exptime in 1970: stored already expired when absent,
NOT_STORED when present); memctouch "touch <key> <exptime>"; memcping "version".
"""
import os
import re
import subprocess

import pytest

from client_helpers import flush, raw_call, raw_get, raw_stats

TOOLS = "/usr/bin"


@pytest.fixture(params=["tcp", "unix"])
def target(request, tcp_server, unix_server):
    server = tcp_server if request.param == "tcp" else unix_server
    flush(server)
    return server


def servers_arg(server):
    """libmemcached's server list: host:port, or a bare path for a Unix socket."""
    spec = server.socket_path or f"{server.host}:{server.port}"
    return f"--servers={spec}"


def tool(name, server, *args, check=True):
    path = os.path.join(TOOLS, name)
    if not os.path.exists(path):
        pytest.skip(f"{path} not installed (libmemcached-tools)")
    proc = subprocess.run([path, servers_arg(server), *args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=30)
    if check:
        assert proc.returncode == 0, (name, args, proc.returncode, proc.stderr)
    return proc


def raw_set(server, key, value, flags=0):
    reply = raw_call(server, b"set %s %d 0 %d\r\n%s\r\n" % (key, flags, len(value), value))
    assert reply == b"STORED\r\n"


@pytest.fixture
def payload(tmp_path):
    """A binary file whose bytes include CR, LF, NUL and a fake protocol terminator."""
    data = (b"line one\r\nline two\n\x00\x01\xff\r\nEND\r\nVALUE x 0 1\r\n"
            + bytes(range(256)) * 64 + os.urandom(50_000) + b"\r\n")
    path = tmp_path / "cachet-payload.bin"
    path.write_bytes(data)
    return path, data


def test_memcstat(target):
    for i in range(7):
        raw_set(target, b"stat-key-%d" % i, b"v" * i)
    stats = raw_stats(target)
    out = tool("memcstat", target).stdout.decode()
    if target.socket_path:
        assert out.startswith(f"Server: {target.socket_path} (0)\n")
    else:
        assert out.startswith(f"Server: {target.host} ({target.port})\n")
    printed = dict(re.findall(r"^\t(\w+): (.*)$", out, re.M))
    assert int(printed["pid"]) == target.proc.pid
    assert int(printed["curr_items"]) >= 7
    assert int(printed["total_items"]) == int(stats["total_items"])
    assert printed["version"] == stats["version"]
    for name in ("uptime", "time", "pointer_size", "curr_connections", "total_connections",
                 "cmd_get", "cmd_set", "get_hits", "get_misses", "bytes", "limit_maxbytes",
                 "threads", "evictions"):
        assert name in printed, name
        assert printed[name].lstrip("-").replace(".", "").isdigit(), (name, printed[name])


def test_memcstat_server_version(target):
    proc = tool("memcstat", target, "--server-version")
    out = (proc.stdout + proc.stderr).decode()  # memstat 1.1.4 prints this on stderr
    version = raw_call(target, b"version\r\n")
    assert version.startswith(b"VERSION ") and version.endswith(b"\r\n")
    spec = (f"{target.socket_path}:0" if target.socket_path
            else f"{target.host}:{target.port}")
    assert out == f"{spec} {version[8:-2].decode()}\n"


def test_memccp_memccat_roundtrip(target, payload, tmp_path):
    path, data = payload
    key = path.name.encode()
    tool("memccp", target, str(path))
    # stored under the basename, flags 0, byte-identical
    assert raw_get(target, key) == (0, data)
    # memccat writes the value and then a newline to stdout
    out = tool("memccat", target, path.name).stdout
    assert out == data + b"\n"
    # --file writes the exact bytes
    copy = tmp_path / "copy.bin"
    tool("memccat", target, f"--file={copy}", path.name)
    assert copy.read_bytes() == data


def test_memccp_flags_add_replace(target, payload):
    path, data = payload
    key = path.name.encode()
    tool("memccp", target, "--flags=123", "--expire=1000", str(path))
    assert raw_get(target, key) == (123, data)
    out = tool("memccat", target, "--flags", path.name).stdout
    assert out == b"123\n" + data + b"\n"
    # --add refuses an existing key, --replace a missing one
    assert tool("memccp", target, "--add", str(path), check=False).returncode != 0
    raw_call(target, b"delete " + key + b"\r\n")
    assert tool("memccp", target, "--replace", str(path), check=False).returncode != 0
    assert raw_get(target, key) is None
    tool("memccp", target, "--add", str(path))
    assert raw_get(target, key) == (0, data)


def test_memccat_missing_key(target):
    proc = tool("memccat", target, "no-such-key", check=False)
    assert proc.returncode != 0
    assert proc.stdout == b""


def test_memcrm(target, payload):
    path, data = payload
    key = path.name.encode()
    tool("memccp", target, str(path))
    assert raw_get(target, key) == (0, data)
    tool("memcrm", target, path.name)
    assert raw_get(target, key) is None
    assert raw_call(target, b"get " + key + b"\r\n") == b"END\r\n"
    # removing it again fails: the server said NOT_FOUND
    assert tool("memcrm", target, path.name, check=False).returncode != 0
    assert tool("memccat", target, path.name, check=False).returncode != 0


def test_memcflush(target):
    keys = [b"flush-me-%d" % i for i in range(10)]
    for k in keys:
        raw_set(target, k, b"value of " + k)
    assert all(raw_get(target, k) is not None for k in keys)
    tool("memcflush", target)
    assert all(raw_get(target, k) is None for k in keys)
    # the cache takes new items straight after the flush
    raw_set(target, b"after-flush", b"x")
    assert raw_get(target, b"after-flush") == (0, b"x")


def test_memcexist_memctouch_memcping(target):
    raw_set(target, b"exists", b"yes")
    assert tool("memcexist", target, "exists", check=False).returncode == 0
    assert tool("memcexist", target, "absent", check=False).returncode != 0
    # memcexist probes with an add that expired in 1970: it must not create the key
    assert raw_get(target, b"absent") is None
    assert raw_get(target, b"exists") == (0, b"yes")
    tool("memctouch", target, "--expire=100", "exists")
    assert raw_get(target, b"exists") == (0, b"yes")
    assert tool("memctouch", target, "--expire=100", "absent", check=False).returncode != 0
    tool("memcping", target)


def test_memccapable_ascii(tcp_server):
    """libmemcached's protocol conformance suite, ascii half (binary: test_binary_clients)."""
    path = os.path.join(TOOLS, "memccapable")
    if not os.path.exists(path):
        pytest.skip(f"{path} not installed (libmemcached-tools)")
    proc = subprocess.run([path, "-h", tcp_server.host, "-p", str(tcp_server.port), "-a", "-t", "10"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    out = proc.stdout.decode()
    assert proc.returncode == 0, out
    assert "All tests passed" in out
    assert "[FAIL]" not in out
