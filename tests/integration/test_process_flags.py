"""Flags that change behaviour (-R -C -F -X -W -A, -o idle_timeout/hashpower/track_sizes/no_lru_*),
long options, how bad flags fail, and the process itself (-d -P, signals, -u and root).

Expected bytes and messages are memcached 1.6.18's, probed from Debian's binary; see
docs/design/memcached-process-behaviour.md. Most servers here are module-scoped so their
shutdowns overlap at the end of the module (memcached takes ~0.7 s to stop).
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from binary_helpers import (AUTH_ERROR, FLUSH, FLUSHQ, KEY_EEXISTS, KEY_ENOENT, SUCCESS,
                            BinConn, error)
from conftest import CACHET_BIN, Conn
from text_helpers import VERSION_LINE, assert_quiet, stats

ROOT = os.geteuid() == 0
USER = ["-u", "root"] if ROOT else []


def run(*args, timeout=10):
    """Runs the binary to completion (for flags that make it exit)."""
    return subprocess.run([CACHET_BIN, *USER, *args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout)


def wait_until(predicate, timeout=10, what="condition"):
    """Polls for an external effect (a file, a process state) with a deadline."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def process_gone(pid):
    """True once pid has exited (gone, or a zombie nobody reaped yet)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return True


def send_and_read_all(conn, data, timeout=5):
    """Sends data and reads until the server closes the connection."""
    conn.send(data)
    conn.sock.settimeout(timeout)
    out = conn.buf
    conn.buf = b""
    try:
        while True:
            chunk = conn.sock.recv(65536)
            if not chunk:
                return out
            out += chunk
    except ConnectionResetError:
        return out


# --- -R: requests per event -----------------------------------------------------------------

@pytest.mark.parametrize("args, yields", [([], False), (["-R", "2"], True), (["-R", "1"], True),
                                           (["--max-reqs-per-event=2"], True)])
def test_R_limits_requests_per_event(module_server_factory, args, yields):
    s = module_server_factory(*args)
    c = Conn(s)
    # Ten requests in one write: with -R n the server yields after every n of them
    # (memcached 1.6.18 counts 4 yields for -R 2 and 9 for -R 1; the default is 20).
    c.send(b"get r\r\n" * 10)
    for _ in range(10):
        assert c.read_line() == b"END\r\n"
    st = stats(c)
    assert (int(st["conn_yields"]) > 0) == yields, st["conn_yields"]
    c.close()


# --- -C: no CAS -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def no_cas(module_server_factory):
    return module_server_factory("-C")


def test_C_gets_shows_cas_zero(no_cas):
    c = Conn(no_cas)
    assert c.call(b"set c1 0 0 1\r\nx\r\ngets c1\r\n", b"END\r\n") == \
        b"STORED\r\nVALUE c1 0 1 0\r\nx\r\nEND\r\n"
    assert c.call(b"incr c1 1\r\n") == b"CLIENT_ERROR cannot increment or decrement " \
        b"non-numeric value\r\n"
    assert c.call(b"set n1 0 0 1\r\n5\r\nincr n1 2\r\ngets n1\r\n", b"END\r\n") == \
        b"STORED\r\n7\r\nVALUE n1 0 1 0\r\n7\r\nEND\r\n"
    assert c.call(b"append n1 0 0 1\r\n8\r\ngats 0 n1\r\n", b"END\r\n") == \
        b"STORED\r\nVALUE n1 0 2 0\r\n78\r\nEND\r\n"
    c.close()


def test_C_cas_command_never_matches(no_cas):
    c = Conn(no_cas)
    assert c.call(b"set c2 0 0 1\r\nx\r\n") == b"STORED\r\n"
    for unique in (b"0", b"1", b"12345"):
        assert c.call(b"cas c2 0 0 1 " + unique + b"\r\ny\r\n") == b"EXISTS\r\n"
    assert c.call(b"cas c2-missing 0 0 1 0\r\ny\r\n") == b"NOT_FOUND\r\n"
    assert c.call(b"get c2\r\n", b"END\r\n") == b"VALUE c2 0 1\r\nx\r\nEND\r\n"
    c.close()


def test_C_meta_cas_is_zero_and_compare_fails(no_cas):
    c = Conn(no_cas)
    assert c.call(b"ms c3 1 c\r\nq\r\n") == b"HD c0\r\n"
    assert c.call(b"mg c3 c v\r\n", b"q\r\n") == b"VA 1 c0\r\nq\r\n"
    assert c.call(b"mg c3 c\r\n") == b"HD c0\r\n"
    assert c.call(b"ms c3 1 C0\r\nw\r\n") == b"EX\r\n"
    assert c.call(b"ms c3 1 C5\r\nw\r\n") == b"EX\r\n"
    assert c.call(b"mg c3 v\r\n", b"q\r\n") == b"VA 1\r\nq\r\n"
    c.close()


def test_C_binary_cas_is_zero_and_ignored(no_cas):
    b = BinConn(no_cas)
    r = b.set(b"c4", b"v")
    assert (r.status, r.cas) == (SUCCESS, 0)
    r = b.get(b"c4")
    assert (r.status, r.cas, r.value) == (SUCCESS, 0, b"v")
    # A CAS in the request is ignored: the set succeeds whatever it says...
    for cas in (7, 1):
        r = b.set(b"c4", b"w", cas=cas)
        assert (r.status, r.cas) == (SUCCESS, 0), r
    assert b.get(b"c4").value == b"w"
    # ...and even creates a missing key (with CAS, memcached answers Not found).
    r = b.set(b"c4-missing", b"w", cas=1)
    assert (r.status, r.cas) == (SUCCESS, 0), r
    r = b.incr(b"c4-counter", delta=1, initial=10)
    assert (r.status, r.cas, r.value) == (SUCCESS, 0, (10).to_bytes(8, "big"))
    b.close()


def test_cas_works_without_C(module_server_factory):
    # The same binary requests against a default server, for contrast.
    s = module_server_factory()
    b = BinConn(s)
    first = b.set(b"c5", b"v")
    assert first.status == SUCCESS and first.cas != 0
    r = b.set(b"c5", b"w", cas=first.cas + 1000)
    assert r.status == KEY_EEXISTS
    r = b.set(b"c5-missing", b"w", cas=1)
    assert r.status == KEY_ENOENT
    b.close()


# --- -F: flush_all disabled -------------------------------------------------------------------

def test_F_refuses_flush_all(module_server_factory):
    s = module_server_factory("-F")
    c = Conn(s)
    assert c.call(b"set f 0 0 1\r\nx\r\n") == b"STORED\r\n"
    assert c.call(b"flush_all\r\n") == b"CLIENT_ERROR flush_all not allowed\r\n"
    assert c.call(b"flush_all 10\r\n") == b"CLIENT_ERROR flush_all not allowed\r\n"
    # noreply silences the refusal too
    c.send(b"flush_all noreply\r\nflush_all 0 noreply\r\n")
    assert_quiet(c)
    assert c.call(b"get f\r\n", b"END\r\n") == b"VALUE f 0 1\r\nx\r\nEND\r\n"
    # the refused text attempts still count in cmd_flush
    assert stats(c)["cmd_flush"] == "4"
    c.close()
    b = BinConn(s)
    # Binary FLUSH and FLUSHQ (quiet or not) get "Auth failure."; these are not counted.
    for opcode in (FLUSH, FLUSHQ):
        r = b.call(opcode, opaque=0x77)
        assert (r.opcode, r.status, r.opaque, r.value) == (opcode, AUTH_ERROR, 0x77,
                                                          b"Auth failure."), r
    b.assert_quiet()
    assert b.stats()["cmd_flush"] == "4"
    b.close()


def test_F_binary_refusal_bytes(module_server_factory):
    s = module_server_factory("--disable-flush-all")
    b = BinConn(s)
    b.send(bytes([0x80, FLUSH]) + bytes(22))
    assert b.read_exactly(24 + 13) == error(FLUSH, AUTH_ERROR)
    b.close()


# --- -X: no dumping ---------------------------------------------------------------------------

def test_X_refuses_cachedump_and_metadump(module_server_factory):
    s = module_server_factory("-X")
    c = Conn(s)
    assert c.call(b"set x 0 0 1\r\nx\r\n") == b"STORED\r\n"
    assert c.call(b"stats cachedump 1 0\r\n") == b"CLIENT_ERROR stats cachedump not allowed\r\n"
    assert c.call(b"stats cachedump\r\n") == b"CLIENT_ERROR stats cachedump not allowed\r\n"
    for arg in (b"all", b"1", b"hash"):
        # refused before the "cannot pipeline" check that metadump normally makes
        assert c.call(b"lru_crawler metadump " + arg + b"\r\n") == \
            b"ERROR metadump not allowed\r\n"
    assert_quiet(c)
    c.close()


# --- -W: no watch -----------------------------------------------------------------------------

def test_W_refuses_watch(module_server_factory):
    s = module_server_factory("-W")
    for cmd in (b"watch\r\n", b"watch fetchers mutations\r\n", b"watch bogus\r\n"):
        c = Conn(s)
        assert c.call(cmd) == b"CLIENT_ERROR watch commands not allowed\r\n"
        assert_quiet(c)
        c.close()


# --- -A: shutdown command ---------------------------------------------------------------------

def test_shutdown_refused_without_A(module_server_factory):
    s = module_server_factory()
    c = Conn(s)
    for cmd in (b"shutdown\r\n", b"shutdown graceful\r\n", b"shutdown bogus\r\n"):
        assert c.call(cmd) == b"ERROR: shutdown not enabled\r\n"
    assert_quiet(c)
    c.close()
    assert s.proc.poll() is None


@pytest.mark.parametrize("cmd, output", [
    (b"shutdown\r\n", ""),
    (b"shutdown graceful\r\n", "Gracefully stopping\n"),
])
def test_A_shutdown_stops_the_server(server_factory, cmd, output):
    s = server_factory("-A")
    bystander = Conn(s)
    assert bystander.call(b"version\r\n") == VERSION_LINE
    c = Conn(s)
    # a bad mode is refused and the server stays up
    for bad in (b"shutdown bogus\r\n", b"shutdown noreply\r\n", b"shutdown graceful now\r\n"):
        assert c.call(bad) == b"CLIENT_ERROR invalid shutdown mode\r\n"
    assert_quiet(c)
    # the shutdown itself gets no reply: the connection just closes
    assert send_and_read_all(c, cmd) == b""
    assert s.proc.wait(timeout=10) == 0
    assert bystander.is_closed()
    assert s.output() == output
    c.close()
    bystander.close()


def test_A_shutdown_long_option(server_factory):
    s = server_factory("--enable-shutdown")
    c = Conn(s)
    assert send_and_read_all(c, b"shutdown\r\n") == b""
    assert s.proc.wait(timeout=10) == 0
    c.close()


# --- accepted tuning flags --------------------------------------------------------------------

def test_tuning_flags_are_accepted(module_server_factory):
    s = module_server_factory("-b", "16", "-c", "64", "-D", "#", "-L", "-f", "1.5", "-n", "100",
                              "-k", "-r")
    c = Conn(s)
    assert c.call(b"version\r\n") == VERSION_LINE
    assert c.call(b"set t:1 0 0 1\r\nx\r\nget t:1\r\n", b"END\r\n") == \
        b"STORED\r\nVALUE t:1 0 1\r\nx\r\nEND\r\n"
    assert stats(c)["max_connections"] == "64"
    c.close()


# --- -o options -------------------------------------------------------------------------------

def test_idle_timeout_closes_idle_clients(module_server_factory):
    s = module_server_factory("-o", "idle_timeout=1")
    idle = Conn(s)
    assert idle.call(b"version\r\n") == VERSION_LINE
    silent = Conn(s)  # never sends a byte
    active = Conn(s)
    # memcached checks once a second and closes a client idle for more than N seconds
    # (about 3.7 s after its last request for N=1). An active client meanwhile stays open.
    idle.sock.setblocking(False)
    silent.sock.setblocking(False)
    closed = set()
    deadline = time.monotonic() + 10
    while len(closed) < 2:
        assert time.monotonic() < deadline, "idle clients were not closed"
        assert active.call(b"version\r\n") == VERSION_LINE
        for name, conn in (("idle", idle), ("silent", silent)):
            if name in closed:
                continue
            try:
                if conn.sock.recv(1) == b"":
                    closed.add(name)
            except BlockingIOError:
                pass
            except ConnectionResetError:
                closed.add(name)
        time.sleep(0.1)  # pacing the active client, not synchronising
    assert active.call(b"version\r\n") == VERSION_LINE
    assert int(stats(active)["idle_kicks"]) >= 2
    for conn in (idle, silent, active):
        conn.close()


def test_hashpower_sets_hash_power_level(module_server_factory):
    s = module_server_factory("-o", "hashpower=20")
    c = Conn(s)
    assert stats(c)["hash_power_level"] == "20"
    c.close()


LRU_CRAWLER_STATS = ["lru_crawler_running", "lru_crawler_starts"]
LRU_MAINTAINER_STATS = ["lru_maintainer_juggles", "evicted_active", "moves_to_cold",
                        "moves_to_warm", "moves_within_lru", "direct_reclaims",
                        "lru_bumps_dropped"]


@pytest.mark.parametrize("opts, missing", [
    ("no_lru_crawler,no_lru_maintainer", LRU_CRAWLER_STATS + LRU_MAINTAINER_STATS),
    ("no_lru_crawler", LRU_CRAWLER_STATS),
    ("no_lru_maintainer", LRU_MAINTAINER_STATS),
])
def test_no_lru_threads_shrink_general_stats(module_server_factory, opts, missing):
    full_conn = Conn(module_server_factory())
    full = list(stats(full_conn))
    full_conn.close()
    assert len(full) == 92
    c = Conn(module_server_factory("-o", opts))
    keys = list(stats(c))
    c.close()
    assert keys == [k for k in full if k not in missing]
    assert len(keys) == 92 - len(missing)  # 83 with both off


def test_track_sizes_enables_stats_sizes(module_server_factory):
    plain = Conn(module_server_factory())
    assert plain.call(b"stats sizes\r\n", b"END\r\n") == b"STAT sizes_status disabled\r\nEND\r\n"
    plain.close()
    c = Conn(module_server_factory("-o", "track_sizes"))
    assert c.call(b"set ts 0 0 1\r\nx\r\n") == b"STORED\r\n"
    reply = c.call(b"stats sizes\r\n", b"END\r\n")
    # one line per 32-byte size bucket holding items: memcached says "STAT 64 1" here
    assert re.fullmatch(rb"STAT \d+ 1\r\nEND\r\n", reply), reply
    c.close()


def test_long_options(module_server_factory):
    s = module_server_factory("--listen=127.0.0.1", "--memory-limit=32", "--threads=2",
                              "--conn-limit=50", "--max-item-size=2m", "--disable-cas",
                              "--listen-backlog=64", "--slab-growth-factor=1.5",
                              "--slab-min-size=64", "--protocol=ascii",
                              "--extended=hashpower=18", "--disable-dumping",
                              "--disable-watch", "--enable-coredumps")
    c = Conn(s)
    st = stats(c)
    assert (st["limit_maxbytes"], st["threads"], st["max_connections"],
            st["hash_power_level"]) == ("33554432", "2", "50", "18")
    assert c.call(b"set l 0 0 1\r\nx\r\ngets l\r\n", b"END\r\n") == \
        b"STORED\r\nVALUE l 0 1 0\r\nx\r\nEND\r\n"
    assert c.call(b"watch\r\n") == b"CLIENT_ERROR watch commands not allowed\r\n"
    c.close()


# --- -h, -V, bad flags ------------------------------------------------------------------------

def test_version_prints_one_line():
    # README: -V prints "memcached 1.6.18", as tools that parse it expect.
    for flag in ("-V", "--version"):
        r = run(flag)
        assert (r.returncode, r.stdout, r.stderr) == (0, b"memcached 1.6.18\n", b"")


def test_help_lists_every_option():
    r = run("-h")
    assert r.returncode == 0 and r.stderr == b""
    assert b"1.6.18" in r.stdout.split(b"\n", 1)[0]  # memcached: "memcached 1.6.18"
    for short, long_ in [("p", "port"), ("U", "udp-port"), ("s", "unix-socket"),
                         ("a", "unix-mask"), ("A", "enable-shutdown"), ("l", "listen"),
                         ("d", "daemon"), ("r", "enable-coredumps"), ("u", "user"),
                         ("m", "memory-limit"), ("M", "disable-evictions"), ("c", "conn-limit"),
                         ("k", "lock-memory"), ("v", "verbose"), ("h", "help"), ("i", "license"),
                         ("V", "version"), ("P", "pidfile"), ("f", "slab-growth-factor"),
                         ("n", "slab-min-size"), ("L", "enable-largepages"), ("t", "threads"),
                         ("R", "max-reqs-per-event"), ("C", "disable-cas"),
                         ("b", "listen-backlog"), ("B", "protocol"), ("I", "max-item-size"),
                         ("S", "enable-sasl"), ("F", "disable-flush-all"),
                         ("X", "disable-dumping"), ("Y", "auth-file"), ("e", "memory-file"),
                         ("Z", "enable-ssl"), ("o", "extended")]:
        assert re.search(rb"^-%s, --%s\b" % (short.encode(), long_.encode()), r.stdout,
                         re.M), short
    assert re.search(rb"^-W  --disable-watch", r.stdout, re.M)
    assert re.search(rb"^-D <char>", r.stdout, re.M)
    assert b"   - idle_timeout:" in r.stdout and b"   - hashpower:" in r.stdout
    assert run("--help").stdout == r.stdout


@pytest.mark.parametrize("args, code, message", [
    (["-o", "bogus"], 1, b'Illegal suboption "bogus"\n'),
    (["-o", "hashpower=5"], 1, b"Initial hashtable multiplier of 5 is too low\n"),
    (["-o", "hashpower=100"], 1, b"Initial hashtable multiplier of 100 is too high\n"
                                 b'Choose a value based on "STAT hash_power_level" from a '
                                 b"running instance\n"),
    (["-B", "nonsense"], 64, b"Invalid value for binding protocol: nonsense\n"
                             b" -- should be one of auto, binary, or ascii\n"),
    (["-t", "0"], 1, b"Number of threads must be greater than 0\n"),
    (["-t", "abc"], 1, b"Number of threads must be greater than 0\n"),
    (["-I", "10"], 64, b"Item max size cannot be less than 1024 bytes.\n"),
    (["-I", "2000m"], 64, b"Cannot set item size limit higher than 1/2 of memory max.\n"),
    (["-m", "0"], 64, b"Cannot set item size limit higher than 1/2 of memory max.\n"),
    (["-c", "0"], 1, b"Maximum connections must be greater than 0\n"),
    (["-c", "abc"], 1, b"Maximum connections must be greater than 0\n"),
    (["-R", "0"], 1, b"Number of requests per event must be greater than 0\n"),
    (["-f", "0.5"], 1, b"Factor must be greater than 1\n"),
    (["-n", "0"], 1, b"Chunk size must be greater than 0\n"),
    (["-p", "70000"], 64, b"ERROR: Invalid port number 70000.\n"),
])
def test_bad_values_exact_messages(args, code, message):
    r = run("-l", "127.0.0.1", "-p", "0", "-U", "0", *args)
    assert (r.returncode, r.stderr) == (code, message)
    assert r.stdout == b""


@pytest.mark.parametrize("args, pattern", [
    (["-x"], rb"invalid option -- 'x'"),
    (["--bogus"], rb"unrecognized option '--bogus'"),
    (["-m"], rb"option requires an argument -- 'm'"),
    (["--port"], rb"option '--port' requires an argument"),
    (["--daemon=x"], rb"option '--daemon' doesn't allow an argument"),
    (["--mem=32"], rb"option '--mem=32' is ambiguous; possibilities: '--memory-limit' "
                   rb"'--memory-file'"),
])
def test_getopt_errors(args, pattern):
    # getopt's message (prefixed with argv[0]), then memcached's own line; exit status 1.
    r = run(*args)
    assert r.returncode == 1
    assert re.fullmatch(rb"[^\n]*: " + pattern + rb'\nIllegal argument "\?"\n', r.stderr), \
        r.stderr


def test_listen_failure_exits_71():
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    try:
        r = run("-l", "127.0.0.1", "-p", str(busy.getsockname()[1]), "-U", "0")
    finally:
        busy.close()
    assert r.returncode == 71
    assert r.stderr == b"failed to listen on one of interface(s) 127.0.0.1: " \
                       b"Address already in use\n"


# --- user and root --------------------------------------------------------------------------

needs_root = pytest.mark.skipif(not ROOT, reason="needs root")


@needs_root
def test_root_without_user_is_refused():
    r = subprocess.run([CACHET_BIN, "-l", "127.0.0.1", "-p", "0", "-U", "0"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
    assert (r.returncode, r.stdout, r.stderr) == \
        (64, b"", b"can't run as root without the -u switch\n")


@needs_root
def test_unknown_user_is_refused():
    r = run("-u", "no-such-user-here", "-l", "127.0.0.1", "-p", "0", "-U", "0")
    assert (r.returncode, r.stderr) == (67, b"can't find the user no-such-user-here to switch to\n")


def _start_detached(args, tmp, env_extra=None):
    env = dict(os.environ, MEMCACHED_PORT_FILENAME=os.path.join(tmp, "ports"))
    env.update(env_extra or {})
    log = open(os.path.join(tmp, "log"), "wb")
    proc = subprocess.Popen([CACHET_BIN, *args], env=env, stdout=log, stderr=log)
    log.close()
    return proc


def _port_from(tmp):
    path = os.path.join(tmp, "ports")
    wait_until(lambda: os.path.exists(path), what="port file")
    with open(path) as f:
        return int(f.readline().split(":")[1])


def _version(port):
    c = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        c.sendall(b"version\r\n")
        return c.recv(100)
    finally:
        c.close()


@needs_root
def test_user_flag_drops_privileges():
    tmp = tempfile.mkdtemp(prefix="cachet-user-")
    os.chmod(tmp, 0o777)  # the port file is written after the switch to nobody
    proc = _start_detached(["-u", "nobody", "-l", "127.0.0.1", "-p", "-1", "-U", "0"], tmp)
    try:
        port = _port_from(tmp)
        assert _version(port) == VERSION_LINE
        with open(f"/proc/{proc.pid}/status") as f:
            ids = {line.split(":")[0]: line.split()[1:] for line in f
                   if line.startswith(("Uid:", "Gid:"))}
        assert ids["Uid"] == ["65534"] * 4
        assert ids["Gid"] == ["65534"] * 4
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


# --- -d and -P ------------------------------------------------------------------------------

def test_daemonize_writes_pidfile_and_serves(tmp_path):
    tmp = str(tmp_path)
    pidfile = os.path.join(tmp, "cachet.pid")
    env = dict(os.environ, MEMCACHED_PORT_FILENAME=os.path.join(tmp, "ports"))
    parent = subprocess.run([CACHET_BIN, *USER, "-d", "-P", pidfile, "-l", "127.0.0.1",
                             "-p", "-1", "-U", "0"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, timeout=10)
    assert (parent.returncode, parent.stdout, parent.stderr) == (0, b"", b"")
    wait_until(lambda: os.path.exists(pidfile), what="pid file")
    with open(pidfile) as f:
        text = f.read()
    assert re.fullmatch(r"\d+\n", text), text
    pid = int(text)
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ppid, sid = int(fields[1]), int(fields[3])
        assert ppid != os.getpid()  # reparented: the process that ran us has exited
        assert sid == pid            # its own session, no controlling terminal
        assert os.readlink(f"/proc/{pid}/cwd") == "/"
        assert [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in (0, 1, 2)] == ["/dev/null"] * 3
        assert _version(_port_from(tmp)) == VERSION_LINE
        os.kill(pid, signal.SIGTERM)
        wait_until(lambda: process_gone(pid), what="daemon exit")
        # with -d, the pid file is removed on a clean exit
        wait_until(lambda: not os.path.exists(pidfile), what="pid file removal")
    finally:
        if not process_gone(pid):
            os.kill(pid, signal.SIGKILL)


def test_pidfile_without_daemon_is_written_and_left(server_factory, tmp_path):
    # Debian's memcached.conf passes -P without -d and its unit has PIDFile=: memcached 1.6.18
    # writes the file in the foreground too, and only removes it when it daemonized.
    pidfile = str(tmp_path / "fg.pid")
    s = server_factory("-P", pidfile)
    wait_until(lambda: os.path.exists(pidfile), what="pid file")
    with open(pidfile) as f:
        assert f.read() == f"{s.proc.pid}\n"
    s.proc.send_signal(signal.SIGTERM)
    assert s.proc.wait(timeout=10) == 0
    assert os.path.exists(pidfile)


def test_unwritable_pidfile_is_a_warning(server_factory):
    s = server_factory("-P", "/nonexistent-dir/x.pid")
    c = Conn(s)
    assert c.call(b"version\r\n") == VERSION_LINE
    c.close()
    wait_until(lambda: "Could not open" in s.output(), what="warning")
    assert s.output() == "Could not open the pid file /nonexistent-dir/x.pid.tmp for writing: " \
                         "No such file or directory\n"


# --- signals --------------------------------------------------------------------------------

@pytest.mark.parametrize("sig, verbose, output", [
    (signal.SIGTERM, False, ""),
    (signal.SIGTERM, True, "Exiting normally\n"),
    (signal.SIGINT, True, "Exiting normally\n"),
    (signal.SIGUSR1, False, "Gracefully stopping\n"),
])
def test_signal_stops_cleanly(module_server_factory, sig, verbose, output):
    s = module_server_factory(*(["-v"] if verbose else []))
    c = Conn(s)
    assert c.call(b"set s 0 0 1\r\nx\r\n") == b"STORED\r\n"
    s.proc.send_signal(sig)
    assert s.proc.wait(timeout=10) == 0
    assert c.is_closed()  # open connections are closed, even on the graceful stop
    c.close()
    if sig == signal.SIGUSR1:
        assert s.output().startswith(output)  # -v adds a line per stopped thread
    else:
        assert s.output().endswith(output)


def _pending(pid):
    with open(f"/proc/{pid}/status") as f:
        masks = [int(line.split()[1], 16) for line in f if line.startswith(("SigPnd", "ShdPnd"))]
    return masks[0] | masks[1]


def test_sighup_does_not_stop_the_server(module_server_factory):
    s = module_server_factory()
    c = Conn(s)
    assert c.call(b"set h 0 0 1\r\nx\r\n") == b"STORED\r\n"
    s.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: s.proc.poll() is not None
               or not _pending(s.proc.pid) & (1 << (signal.SIGHUP - 1)),
               what="SIGHUP delivery")
    # still serving the same connection (a stopped server would close it)
    assert c.call(b"get h\r\n", b"END\r\n") == b"VALUE h 0 1\r\nx\r\nEND\r\n"
    assert s.proc.poll() is None
    c.close()
