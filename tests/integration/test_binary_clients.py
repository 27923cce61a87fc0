"""Real clients speaking the binary protocol to the server under test.

pylibmc (libmemcached) with binary=True (its workflows, shared with text, are parametrized in
test_clients.py), python-binary-memcached (bmemcached), Django 3.2's
PyLibMCCache with OPTIONS={"binary": True} (the workflows of test_django.py, rerun here), the
libmemcached tools with --binary, and memccapable -b (libmemcached's binary conformance suite).
Client quirks seen against memcached 1.6.18 are asserted as they are: they are what a
compatible server must make the clients do.
"""
import os
import re
import subprocess

import pytest

import bmemcached
import pylibmc

from binary_helpers import require_stats_group
from client_helpers import flush, raw_get, raw_stats
import test_django as td
# Django workflows from test_django.py (all but test_timeout_zero_means_not_stored, whose
# premise is text-only; see test_django_binary_timeout_zero): collected again here, with this module's fixtures
# (target, cache, default_cache) aiming PyLibMCCache in binary mode at the servers.
from test_django import (  # noqa: F401
    test_cache_page, test_cached_sessions, test_clear, test_get_or_set, test_has_key_and_add,
    test_key_prefix_isolation, test_long_keys_validated, test_per_site_cache_middleware,
    test_set_get_incr_decr_delete, test_set_many_get_many_delete_many,
    test_template_fragment_cache, test_timeout_none_and_beyond_thirty_days_are_stored,
    test_timeouts_expire_on_server_clock, test_touch, test_unicode_keys_and_values,
    test_versioning)

pytestmark = [
    pytest.mark.filterwarnings("ignore::django.utils.deprecation.RemovedInDjango41Warning"),
    pytest.mark.filterwarnings("ignore:urllib.parse.splitport:DeprecationWarning"),
]

MAX_U64 = 2**64 - 1
TOOLS = "/usr/bin"


@pytest.fixture
def server(tcp_server):
    flush(tcp_server)
    return tcp_server


@pytest.fixture
def userver(unix_server):
    flush(unix_server)
    return unix_server


# --------------------------------------------------------------------------- pylibmc
# The pylibmc workflows run in both protocols in test_clients.py (parametrized); what follows is
# binary-only.

def make_pylibmc(spec):
    c = pylibmc.Client([spec], binary=True, behaviors={"cas": True})
    assert c.binary is True
    return c


def test_pylibmc_binary_negative_time_is_far_future(server):
    """In binary the exptime is unsigned: -1 goes out as 0xffffffff, an absolute time in 2106,
    so the item stays (in text, -1 means "already expired")."""
    c = make_pylibmc(f"{server.host}:{server.port}")
    assert c.set("neg", "v", time=-1) is True
    assert c.get("neg") == "v"
    c.disconnect_all()


# --------------------------------------------------------------------------- bmemcached

@pytest.fixture
def bmc(server):
    c = bmemcached.Client([f"{server.host}:{server.port}"])
    yield c
    c.disconnect_all()


def test_bmemcached_workflow(bmc, server):
    assert bmc.set("a", "x") is True
    assert bmc.get("a") == "x"
    assert bmc.get("missing") is None
    assert bmc.get("missing", default="d") == "d"
    value, cas = bmc.gets("a")
    assert value == "x" and cas
    assert bmc.add("a", "y") is False
    assert bmc.add("b", "y") is True
    assert bmc.replace("b", "z") is True
    assert bmc.replace("missing", "z") is False
    assert bmc.get("b") == "z"
    # cas
    assert bmc.cas("a", "x2", cas) is True
    assert bmc.cas("a", "x3", cas) is False
    assert bmc.get("a") == "x2"
    # incr/decr create the counter with the default (initial) value
    assert bmc.incr("n", 5) == 0
    assert bmc.incr("n", 5) == 5
    assert bmc.decr("n", 100) == 0
    assert bmc.incr("n", MAX_U64) == MAX_U64
    assert bmc.incr("n", 2) == 1
    bmc.set("s", "abc")
    with pytest.raises(bmemcached.exceptions.MemcachedException) as exc:
        bmc.incr("s", 1)
    assert exc.value.code == 6
    assert "Non-numeric server-side value for incr or decr" in str(exc.value)
    # multi (SETQ... + NOOP; GETKQ... + a final GETK)
    assert bmc.set_multi({"m1": "one", "m2": b"two", "m3": "three"}) == []
    assert bmc.get_multi(["m1", "m2", "m3", "m4"]) == {"m1": "one", "m2": b"two", "m3": "three"}
    assert bmc.get_multi([]) == {}
    # delete: True unless the server says "Data exists for key." (cas mismatch)
    _, cas = bmc.gets("m1")
    assert bmc.delete("m1", cas=cas + 1) is False
    assert bmc.get("m1") == "one"
    assert bmc.delete("m1", cas=cas) is True
    assert bmc.delete("m1") is True
    assert bmc.get("m1") is None
    assert bmc.delete_multi(["m2", "m3"]) is True
    assert bmc.get_multi(["m2", "m3"]) == {}
    assert raw_get(server, b"a")[1] == b"x2"


def test_bmemcached_stats_and_flush(bmc, server):
    bmc.set("f", "1")
    stats = bmc.stats()
    assert list(stats) == [f"{server.host}:{server.port}"]
    values = stats[f"{server.host}:{server.port}"]
    assert values["pid"] == str(server.proc.pid).encode()
    assert values["version"] == b"1.6.18"
    assert set(values) == set(raw_stats(server))
    assert bmc.flush_all() is True
    assert bmc.get("f") is None
    assert raw_get(server, b"f") is None
    require_stats_group(server, b"settings")
    settings = bmc.stats("settings")[f"{server.host}:{server.port}"]
    assert settings["item_size_max"] == b"1048576"


def test_bmemcached_large_values(bmc, server):
    value = os.urandom(500 * 1024)  # random: bmemcached would compress anything else
    assert bmc.set("large", value) is True
    assert bmc.get("large") == value
    assert raw_get(server, b"large") == (16, value)  # bmemcached flags bytes as 16
    assert bmc.set_multi({"l1": value, "l2": value[::-1]}) == []
    assert bmc.get_multi(["l1", "l2"]) == {"l1": value, "l2": value[::-1]}


# --------------------------------------------------------------------------- Django

class BinaryTarget(td.Target):
    """test_django's Target with PyLibMCCache in binary mode."""

    def make(self, **params):
        params.setdefault("OPTIONS", {"binary": True})
        return super().make(**params)

    def settings(self, **params):
        params.setdefault("OPTIONS", {"binary": True})
        return super().settings(**params)


@pytest.fixture(scope="module")
def server_sets(module_server_factory, tcp_server, unix_server):
    return {"tcp": [tcp_server], "unix": [unix_server],
            "tcp3": [tcp_server] + [module_server_factory() for _ in range(2)]}


@pytest.fixture(params=["tcp", "unix", "tcp3"])
def target(request, server_sets):
    servers = server_sets[request.param]
    for s in servers:
        flush(s)
    return BinaryTarget("pylibmc", request.param, servers)


@pytest.fixture
def cache(target):
    c = target.make(KEY_PREFIX="t", VERSION=1)
    assert c._cache.binary is True
    yield c
    c.close()


@pytest.fixture
def default_cache(target):
    with td.override_settings(CACHES=target.settings()):
        assert td.caches["default"]._cache.binary is True
        yield td.caches["default"]


def test_django_binary_timeout_zero(cache, target):
    """Django sends timeout=0 as exptime -1; over binary that is 0xffffffff (year 2106), so
    unlike the text protocol the value IS stored. touch(timeout=0) deletes (PyLibMCCache)."""
    cache.set("zero", "v", timeout=0)
    assert cache.get("zero") == "v"
    assert target.raw_find(b"t:1:zero") is not None
    assert cache.touch("zero", 0)
    assert cache.get("zero") is None


# --------------------------------------------------------------------------- libmemcached tools

def tool(name, server, *args, check=True):
    path = os.path.join(TOOLS, name)
    if not os.path.exists(path):
        pytest.skip(f"{path} not installed (libmemcached-tools)")
    spec = server.socket_path or f"{server.host}:{server.port}"
    proc = subprocess.run([path, f"--servers={spec}", "--binary", *args],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    if check:
        assert proc.returncode == 0, (name, args, proc.returncode, proc.stderr)
    return proc


@pytest.fixture(params=["tcp", "unix"])
def tool_target(request, tcp_server, unix_server):
    server = tcp_server if request.param == "tcp" else unix_server
    flush(server)
    return server


def test_memcstat_binary(tool_target):
    server = tool_target
    out = tool("memcstat", server).stdout.decode()
    printed = dict(re.findall(r"^\t(\w+): (.*)$", out, re.M))
    stats = raw_stats(server)
    assert int(printed["pid"]) == server.proc.pid
    assert printed["version"] == "1.6.18"
    assert list(printed) == list(stats)  # one STAT packet per statistic, in order
    proc = tool("memcstat", server, "--server-version")
    assert (proc.stdout + proc.stderr).decode().endswith(" 1.6.18\n")
    require_stats_group(server, b"settings")
    out = tool("memcstat", server, "--args=settings").stdout.decode()
    assert "\titem_size_max: 1048576\n" in out


def test_memccp_memccat_memcrm_binary(tool_target, tmp_path):
    server = tool_target
    data = (b"line one\r\nEND\r\n\x00\x80\xff" + bytes(range(256)) * 64 + os.urandom(50_000))
    path = tmp_path / "cachet-binary-payload.bin"
    path.write_bytes(data)
    key = path.name.encode()
    tool("memccp", server, "--flags=123", str(path))
    assert raw_get(server, key) == (123, data)
    assert tool("memccat", server, path.name).stdout == data + b"\n"
    assert tool("memccat", server, "--flags", path.name).stdout == b"123\n" + data + b"\n"
    assert tool("memccat", server, "no-such-key", check=False).returncode != 0
    # --add refuses an existing key (status 0x02), --replace a missing one (0x01)
    proc = tool("memccp", server, "--add", str(path), check=False)
    assert proc.returncode != 0 and b"DATA EXISTS" in proc.stderr
    tool("memcrm", server, path.name)
    assert raw_get(server, key) is None
    assert tool("memcrm", server, path.name, check=False).returncode != 0
    proc = tool("memccp", server, "--replace", str(path), check=False)
    assert proc.returncode != 0 and b"NOT FOUND" in proc.stderr
    tool("memccp", server, "--add", str(path))
    assert raw_get(server, key) == (0, data)
    tool("memcflush", server)
    assert raw_get(server, key) is None


def test_memccapable_binary(tcp_server):
    """libmemcached's protocol conformance suite, binary half."""
    path = os.path.join(TOOLS, "memccapable")
    if not os.path.exists(path):
        pytest.skip(f"{path} not installed (libmemcached-tools)")
    proc = subprocess.run(
        [path, "-h", tcp_server.host, "-p", str(tcp_server.port), "-b", "-t", "10"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    out = proc.stdout.decode()
    assert proc.returncode == 0, out
    assert "All tests passed" in out
    assert "[FAIL]" not in out
    for name in ("noop", "quit", "quitq", "set", "setq", "flush", "flushq", "add", "addq",
                 "replace", "replaceq", "delete", "deleteq", "get", "getq", "getk", "getkq",
                 "incr", "incrq", "decr", "decrq", "version", "append", "appendq", "prepend",
                 "prependq", "stat"):
        assert re.search(rf"^binary {name} +\[pass\]$", out, re.M), name
