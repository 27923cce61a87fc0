"""Operator tools against the server under test: memcdump and memcstat (libmemcached-tools
1.1.4) and memcached-tool (memcached's perl script), incl. what they put on the wire
(docs/design/memcached-operator-behaviour.md §8, §14, §15).
"""
import re
import subprocess

import pytest

from conftest import Conn
from operator_helpers import (METADUMP_LINE, RecordingProxy, mass_set, memcached_tool,
                              memcdump_keys, metadump, run_tool, stats_dict, stats_group,
                              tool_path, wait_for)

POPULATION = {
    b"tool:small": (0, 0, b"x"),
    b"tool:flags": (5, 0, b"flagged"),
    b"tool:ttl": (0, 1000, b"expiring"),
    b"tool:mid": (0, 0, b"m" * 300),
    b"tool:big": (0, 0, b"b" * 3000),
    b"tool:pct%2F": (0, 0, b"percent"),  # metadump shows tool%3Apct%252F; the tool decodes it
}


@pytest.fixture(scope="module")
def tools_server(module_server_factory):
    server = module_server_factory()
    c = Conn(server)
    for key, (flags, exptime, value) in POPULATION.items():
        assert c.call(b"set %s %d %d %d\r\n%s\r\n" % (key, flags, exptime, len(value), value)) \
            == b"STORED\r\n"
    c.close()
    # memcached's crawler can skip items it is moving between LRUs right after a write
    wait_for(lambda: set(metadump(server)) >= set(POPULATION), what="population in metadump")
    return server


@pytest.fixture(scope="module")
def tools_unix(module_server_factory):
    server = module_server_factory(unix=True)
    mass_set(server, [b"unix:a", b"unix:b"], b"v")
    return server


# --------------------------------------------------------------------------- memcdump

def test_memcdump_wire_walk(tools_server):
    proxy = RecordingProxy(tools_server)
    path = tool_path("memcdump")

    def run():
        proxy.sent.clear()
        proxy.received.clear()
        proc = subprocess.run([path, proxy.servers_arg()], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=30)
        assert proc.returncode == 0, proc.stderr
        keys = proc.stdout.split(b"\n")[:-1]
        return keys if set(keys) >= set(POPULATION) else None

    keys = wait_for(run, what="memcdump to list the population")
    assert len(keys) == len(set(keys))
    proxy.wait_idle()
    proxy.close()
    sent = b"".join(proxy.sent)
    assert sent == (b"version\r\n" + b"".join(b"stats cachedump %d 0\r\n" % i for i in range(64))
                    + b"quit\r\n")
    received = b"".join(proxy.received)
    assert received.startswith(b"VERSION 1.6.18\r\n")
    replies = received[len(b"VERSION 1.6.18\r\n"):].split(b"END\r\n")
    assert replies[-1] == b"" and len(replies) == 65  # one END per class 0..63
    listed = []
    for reply in replies[:-1]:
        for line in reply.split(b"\r\n")[:-1]:
            m = re.match(rb"^ITEM (\S+) \[\d+ b; \d+ s\]$", line)
            assert m, line
            listed.append(m.group(1))
    assert sorted(listed) == sorted(keys)


def test_memcdump_unix_socket(tools_unix):
    wait_for(lambda: set(memcdump_keys(tools_unix)) >= {b"unix:a", b"unix:b"},
             what="memcdump over the unix socket")


# --------------------------------------------------------------------------- memcstat

def _memcstat_lines(out):
    return re.findall(r"^\t(\S+): (.*)$", out, re.M)


@pytest.mark.parametrize("group", ["items", "slabs", "settings"])
def test_memcstat_groups(tools_server, group):
    proc = run_tool("memcstat", tools_server, group)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode()
    assert out.startswith(f"Server: 127.0.0.1 ({tools_server.port})\n")
    printed = _memcstat_lines(out)
    raw = stats_group(tools_server, group.encode())
    assert [n for n, _ in printed] == [n for n, _ in raw]
    if group == "settings":
        assert printed == raw


def test_memcstat_args_option(tools_server):
    proc = run_tool("memcstat", tools_server, "--args=slabs")
    assert proc.returncode == 0, proc.stderr
    names = [n for n, _ in _memcstat_lines(proc.stdout.decode())]
    assert names[-2:] == ["active_slabs", "total_malloced"]


def test_memcstat_conns(tools_server):
    proc = run_tool("memcstat", tools_server, "conns")
    assert proc.returncode == 0, proc.stderr
    printed = dict(_memcstat_lines(proc.stdout.decode()))
    assert f"tcp:127.0.0.1:{tools_server.port}" in printed.values()
    assert "conn_listening" in printed.values()
    assert "conn_parse_cmd" in printed.values()


def test_memcstat_unknown_group(tools_server):
    proc = run_tool("memcstat", tools_server, "bogus")
    assert proc.returncode == 1
    assert proc.stderr == b"Failed to 'STAT bogus': INVALID ARGUMENTS\n"


def test_memcstat_analyze(tools_server):
    proc = run_tool("memcstat", tools_server, "--analyze")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode()
    assert "Number of Servers Analyzed         : 1" in out
    assert re.search(r"Average Item Size \(incl/overhead\)  : \d+ bytes", out)


# --------------------------------------------------------------------------- memcached-tool

def tool_ok(server, *args):
    proc = memcached_tool(server, *args)
    assert proc.returncode == 0, proc.stderr
    return proc


DISPLAY_HEADER = "  #  Item_Size  Max_age   Pages   Count   Full?  Evicted Evict_Time OOM"
DISPLAY_ROW = re.compile(r"^ *(\d+) +(\d+B|\d+\.\dK) +(\d+)s +(\d+) +(\d+) +(yes| no) +(\d+) +"
                         r"(\d+) +(\d+)$")


@pytest.mark.parametrize("args", [(), ("display",)])
def test_memcached_tool_display(tools_server, args):
    out = tool_ok(tools_server, *args).stdout.decode().split("\n")
    assert out[0] == DISPLAY_HEADER and out[-1] == ""
    rows = [DISPLAY_ROW.match(line) for line in out[1:-1]]
    assert rows and all(rows), out
    slabs = {}
    for name, value in stats_group(tools_server, b"slabs")[:-2]:
        cls, field = name.split(":")
        slabs.setdefault(int(cls), {})[field] = int(value)
    assert [int(r.group(1)) for r in rows] == \
        [c for c in sorted(slabs) if slabs[c]["total_pages"] != 0]
    for r in rows:
        size = slabs[int(r.group(1))]["chunk_size"]
        assert r.group(2) == (f"{size}B" if size < 1024 else f"{size / 1024.0:.1f}K")
    assert sum(int(r.group(5)) for r in rows) == int(stats_dict(tools_server)["curr_items"])


def test_memcached_tool_display_unix(tools_unix):
    out = tool_ok(tools_unix, "display").stdout.decode().split("\n")
    assert out[0] == DISPLAY_HEADER
    assert sum(int(DISPLAY_ROW.match(line).group(5)) for line in out[1:-1]) == 2


def test_memcached_tool_stats(tools_server):
    out = tool_ok(tools_server, "stats").stdout.decode().split("\n")
    addr = f"127.0.0.1:{tools_server.port}"
    assert out[0] == "#%-22s %5s %13s" % (addr, "Field", "Value")
    assert all(line.endswith("\r") for line in out[1:-1])  # chomp leaves the server's \r
    assert "%29s %14s" % ("version", "1.6.18\r") in out
    rows = [line.split() for line in out[1:-1]]
    names = [r[0] for r in rows]
    assert names == sorted(names)
    printed = {r[0]: r[1] for r in rows}
    assert printed["pid"] == str(tools_server.proc.pid)
    assert printed["version"] == "1.6.18"
    assert set(names) == {n for n, _ in stats_group(tools_server)}


def test_memcached_tool_settings(tools_server):
    out = tool_ok(tools_server, "settings").stdout.decode().split("\n")
    addr = f"127.0.0.1:{tools_server.port}"
    assert out[0] == "#%-17s %5s %11s" % (addr, "Field", "Value")
    # the script chomps only \n: each value keeps the server's \r
    assert "%24s %12s" % ("item_size_max", "1048576\r") in out
    assert "%24s %12s" % ("maxbytes", "67108864\r") in out


def test_memcached_tool_sizes(tools_server):
    out = tool_ok(tools_server, "sizes").stdout.decode().split("\n")
    assert out[0] == "#%-17s %5s %11s" % (f"127.0.0.1:{tools_server.port}", "Size", "Count")
    assert out[1] == "%24s %12s" % ("sizes_status", "disabled\r")


def _tool_keys(server, *args):
    proc = tool_ok(server, "keys", *args)
    assert proc.stderr.startswith(b"Dumping memcache keys")
    lines = proc.stdout.split(b"\n")[:-1]
    assert all(METADUMP_LINE.match(line) for line in lines), lines
    return lines


def test_memcached_tool_keys(tools_server):
    expected = {b"tool%3Asmall", b"tool%3Aflags", b"tool%3Attl", b"tool%3Amid", b"tool%3Abig",
                b"tool%3Apct%252F"}

    def listed():
        keys = {METADUMP_LINE.match(line).group(1) for line in _tool_keys(tools_server)}
        return keys >= expected

    wait_for(listed, what="memcached-tool keys to list the population")
    assert len(_tool_keys(tools_server, "1")) == 1


def _parse_dump(data):
    """memcached-tool dump output: `add <key> <flags> <exp> <len>\\r\\n<value>\\r\\n` blocks."""
    out = {}
    while data:
        head, _, rest = data.partition(b"\r\n")
        m = re.match(rb"^add (\S+) (\d+) (\d+) (\d+)$", head)
        assert m, head
        n = int(m.group(4))
        assert rest[n:n + 2] == b"\r\n"
        out[m.group(1)] = (int(m.group(2)), int(m.group(3)), rest[:n])
        data = rest[n + 2:]
    return out


def test_memcached_tool_dump(tools_server):
    now = int(stats_dict(tools_server)["time"])

    def dumped():
        proc = tool_ok(tools_server, "dump")
        assert proc.stderr == b"Dumping memcache contents\n"
        d = _parse_dump(proc.stdout)
        return d if set(d) >= set(POPULATION) else None

    d = wait_for(dumped, what="memcached-tool dump to cover the population")
    for key, (flags, exptime, value) in POPULATION.items():
        got_flags, got_exp, got_value = d[key]
        assert (got_flags, got_value) == (flags, value), key
        if exptime:
            assert now + exptime - 5 <= got_exp <= now + exptime + 5
        else:
            assert got_exp == 0
    proc = tool_ok(tools_server, "dump", "1")
    assert proc.stderr == b"Dumping memcache contents (limiting to 1 keys)\n"
    assert len(_parse_dump(proc.stdout)) == 1
