"""Warm restart (-e <file>): what survives a stop, and that a damaged, foreign or stale file is
never loaded (issue 15, docs/design/snapshot-format.md).

Against memcached (CACHET_BIN=/usr/bin/memcached) the tests that make sense there run too and
show how its -e differs: it saves only on SIGUSR1, keeps its memory in the file itself (so it
needs the same -m), and has no checksum.
"""
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

from conftest import (CACHET_BIN, IS_MEMCACHED, SANITIZER_MARKERS, Conn, Server, debugtime,
                      memcached_only_difference)
from operator_helpers import mass_set, stats_dict

cachet_only = memcached_only_difference


def graceful_signal():
    # memcached -e saves only on SIGUSR1; cachet on every graceful stop.
    return signal.SIGUSR1 if IS_MEMCACHED else signal.SIGTERM


class Restarts:
    """Servers started one after another on one memory file."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="cachet-restart-")
        self.path = os.path.join(self.dir, "cache.snapshot")
        self.servers = []
        self.stopped_at = None

    def start(self, *args, env=None, path=None):
        if IS_MEMCACHED and self.stopped_at is not None:
            # memcached 1.6.18 refuses its file in the second it was saved ("clock has done
            # something crazy": it needs now - stop_time > 0); cachet has no such rule.
            time.sleep(max(0.0, self.stopped_at + 1.1 - time.time()))
        s = Server(["-e", path or self.path, *args], env=env)
        self.servers.append(s)
        return s

    def stop(self, s, sig=None):
        """Stops `s` gracefully and waits for it (its save included)."""
        s.proc.send_signal(sig or graceful_signal())
        assert s.proc.wait(timeout=60) == 0, s.output()
        self.stopped_at = time.time()
        self.check(s)
        return s.output()

    def kill(self, s):
        s.proc.kill()
        s.proc.wait()
        self.stopped_at = time.time()

    def check(self, s):
        out = s.output()
        assert not any(m in out for m in SANITIZER_MARKERS), out

    def close(self):
        for s in self.servers:
            if s.proc.poll() is None:
                s.proc.kill()
                s.proc.wait()
            s.log.close()
            self.check(s)
            shutil.rmtree(s.tmpdir, ignore_errors=True)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def restarts():
    r = Restarts()
    yield r
    r.close()


def gets(server, keys):
    """The exact `gets` reply for `keys`."""
    c = Conn(server, timeout=30)
    try:
        return c.call(b"gets " + b" ".join(keys) + b"\r\n", b"END\r\n")
    finally:
        c.close()


def call(server, data, terminator=b"\r\n"):
    c = Conn(server, timeout=30)
    try:
        return c.call(data, terminator)
    finally:
        c.close()


def status(server):
    return stats_dict(server).get("restart_status")


def assert_empty_start(server):
    st = stats_dict(server)
    assert st["curr_items"] == "0"
    assert st["restart_status"].startswith("rejected:"), st["restart_status"]
    # and it serves normally
    assert call(server, b"set k 0 0 1\r\nv\r\n") == b"STORED\r\n"
    assert call(server, b"get k\r\n", b"END\r\n") == b"VALUE k 0 1\r\nv\r\nEND\r\n"


def fill_mixed(server):
    """Items of many sizes up to -I (1 MiB: memcached's item_size_ok bound), with flags."""
    rng = random.Random(15)
    keys = []
    c = Conn(server, timeout=30)
    largest = 1024 * 1024 - 48 - 8 - 2 - 1 - 4 - len(b"big")
    sizes = [0, 1, 2, 10, 100, 1000, 4096, 10000, 65536, 100000, 300000]
    for i, size in enumerate(sizes * 6):
        key = b"key:%d" % i
        value = bytes(rng.randrange(256) for _ in range(min(size, 64))) * (size // 64 + 1)
        flags = rng.choice([0, 1, 0xffffffff, rng.randrange(1 << 32)])
        assert c.call(b"set %s %d 0 %d\r\n%s\r\n" % (key, flags, size, value[:size])) == \
            b"STORED\r\n"
        keys.append(key)
    assert c.call(b"set big 7 0 %d\r\n%s\r\n" % (largest, b"b" * largest)) == b"STORED\r\n"
    keys.append(b"big")
    # a touched item stores its CAS beside it; an incremented one is a new version
    assert c.call(b"set touched 0 0 1\r\nt\r\n") == b"STORED\r\n"
    assert c.call(b"touch touched 5000\r\n") == b"TOUCHED\r\n"
    assert c.call(b"set n 0 0 2\r\n10\r\n") == b"STORED\r\n"
    assert c.call(b"incr n 5\r\n") == b"15\r\n"
    keys += [b"touched", b"n"]
    c.close()
    return keys


def test_round_trip_keeps_values_flags_and_cas(restarts):
    s = restarts.start()
    keys = fill_mixed(s)
    before = gets(s, keys)
    restarts.stop(s)
    s = restarts.start()
    assert gets(s, keys) == before
    if not IS_MEMCACHED:
        st = stats_dict(s)
        assert st["restart_status"] == "loaded"
        assert st["restart_loaded_items"] == str(len(keys))
    # every CAS issued after the restart is greater than any before it
    old = [int(line.split()[4]) for line in before.split(b"\r\n") if line.startswith(b"VALUE")]
    c = Conn(s)
    assert c.call(b"set fresh 0 0 1\r\nx\r\n") == b"STORED\r\n"
    assert c.call(b"set key:1 0 0 1\r\nx\r\n") == b"STORED\r\n"
    new = [int(line.split()[4]) for line in c.call(b"gets fresh key:1\r\n", b"END\r\n")
           .split(b"\r\n") if line.startswith(b"VALUE")]
    assert min(new) > max(old)
    c.close()


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT", "SIGUSR1", "shutdown graceful", "shutdown"])
def test_every_graceful_stop_saves(restarts, how):
    s = restarts.start("-A")
    assert call(s, b"set k 3 0 5\r\nhello\r\n") == b"STORED\r\n"
    if how.startswith("shutdown"):
        c = Conn(s)
        c.send(how.encode() + b"\r\n")
        assert c.is_closed()
        assert s.proc.wait(timeout=60) == 0
        restarts.stopped_at = time.time()
    else:
        restarts.stop(s, getattr(signal, how))
    s = restarts.start()
    got = call(s, b"get k\r\n", b"END\r\n")
    # memcached -e saves only on SIGUSR1 (`shutdown graceful` sends it); the others lose it
    saved = not IS_MEMCACHED or how in ("SIGUSR1", "shutdown graceful")
    assert got == (b"VALUE k 3 5\r\nhello\r\nEND\r\n" if saved else b"END\r\n")


@cachet_only("the test clock's offset is restored from cachet's file")
def test_ttl_survives_and_expires_across_a_stop(restarts):
    s = restarts.start()
    c = Conn(s)
    assert c.call(b"set short 0 100 1\r\na\r\n") == b"STORED\r\n"
    assert c.call(b"set never 0 0 1\r\nb\r\n") == b"STORED\r\n"
    unix_exp = int(stats_dict(s)["time"]) + 300
    assert c.call(b"set absolute 0 %d 1\r\nc\r\n" % unix_exp) == b"STORED\r\n"
    c.close()
    debugtime(s, 50)
    restarts.stop(s)
    s = restarts.start()
    c = Conn(s)
    # 50 s of its 100 have passed: the clock went on from the saved offset
    assert c.call(b"mg short t v\r\n", b"a\r\n") in (b"VA 1 t50\r\na\r\n", b"VA 1 t49\r\na\r\n")
    debugtime(s, 60)
    assert c.call(b"get short never absolute\r\n", b"END\r\n") == \
        b"VALUE never 0 1\r\nb\r\nVALUE absolute 0 1\r\nc\r\nEND\r\n"
    debugtime(s, 200)
    assert c.call(b"get absolute never\r\n", b"END\r\n") == b"VALUE never 0 1\r\nb\r\nEND\r\n"
    c.close()


@cachet_only("cachet refuses a file saved in its future")
def test_a_clock_moved_back_starts_empty(restarts):
    s = restarts.start()
    assert call(s, b"set k 0 0 1\r\nv\r\n") == b"STORED\r\n"
    debugtime(s, 1000)  # saved 1000 s in the future of the real clock
    restarts.stop(s)
    s = restarts.start(env={"CACHET_DEBUGTIME": "0"})  # the offset is not restored
    assert "clock moved back" in status(s)
    assert_empty_start(s)
    assert "[restart] starting with an empty cache: the clock moved back" in s.output()


def test_kill_after_a_load_starts_empty_and_deleted_keys_stay_deleted(restarts):
    s = restarts.start()
    mass_set(s, [b"k%d" % i for i in range(100)], b"v" * 100)
    restarts.stop(s)
    s = restarts.start()
    assert call(s, b"get k1\r\n", b"END\r\n") == b"VALUE k1 0 100\r\n" + b"v" * 100 + b"\r\nEND\r\n"
    assert call(s, b"delete k1\r\n") == b"DELETED\r\n"
    restarts.kill(s)
    s = restarts.start()
    assert call(s, b"get k1 k2\r\n", b"END\r\n") == b"END\r\n"
    if not IS_MEMCACHED:  # memcached unlinks its .meta when it loads: the same effect
        assert "loaded once already" in status(s)


@cachet_only("cachet's restore_unclean")
def test_restore_unclean_loads_an_inexact_file_when_young_enough(restarts):
    s = restarts.start()
    mass_set(s, [b"k%d" % i for i in range(100)], b"v")
    restarts.stop(s)
    s = restarts.start()
    restarts.kill(s)
    s = restarts.start("-o", "restore_unclean=3600")
    st = stats_dict(s)
    assert (st["restart_status"], st["curr_items"]) == ("loaded", "100")
    assert "not exact (restore_unclean)" in s.output()


@cachet_only("cachet's file is written as <path>.tmp then renamed; memcached's is its memory")
def test_kill_during_a_save_leaves_a_whole_file(restarts):
    """kill -9 at 20 points of a save: the next start finds the previous file or the new one,
    whole (restore_unclean accepts the previous one, which was loaded before), never a mix."""
    rng = random.Random(1515)
    s = restarts.start()
    data_keys = [b"data:%d" % i for i in range(3000)]
    mass_set(s, data_keys, b"d" * 10000)  # ~30 MB: a save that takes a while
    tags = [b"tag:%d" % i for i in range(50)]
    mass_set(s, tags + [b"gen"], b"0")
    restarts.stop(s)
    size = os.path.getsize(restarts.path)
    tmp = restarts.path + ".tmp"
    expect = {0}
    for i in range(1, 21):
        s = restarts.start("-o", "restore_unclean=3600")
        assert not os.path.exists(tmp)  # a killed save's leftover is removed at start
        assert status(s) == "loaded"
        gen = call(s, b"get gen\r\n", b"END\r\n").split(b"\r\n")[1]
        assert int(gen) in expect, (gen, expect)
        # whole: every tag from the same generation, every data item there
        reply = call(s, b"get " + b" ".join(tags) + b"\r\n", b"END\r\n")
        assert reply.count(b"VALUE") == len(tags)
        assert reply.count(b"\r\n" + gen + b"\r\n") == len(tags), reply
        assert stats_dict(s)["curr_items"] == str(len(data_keys) + len(tags) + 1)
        mass_set(s, tags + [b"gen"], b"%d" % i)
        target = rng.randrange(size + size // 10)
        s.proc.send_signal(signal.SIGTERM)
        while s.proc.poll() is None:
            try:
                if os.path.getsize(tmp) >= target:
                    break
            except FileNotFoundError:
                if target == 0:
                    break
        restarts.kill(s)
        finished = not os.path.exists(tmp) and s.proc.returncode == 0
        # the file this server loaded, or the one its save wrote
        expect = {i} if finished else {int(gen), i}
        assert sorted(os.listdir(restarts.dir)) in (["cache.snapshot"],
                                                   ["cache.snapshot", "cache.snapshot.tmp"])


def good_file(restarts):
    s = restarts.start()
    mass_set(s, [b"k%d" % i for i in range(300)], lambda k: k * 20)
    restarts.stop(s)
    with open(restarts.path, "rb") as f:
        return f.read()


@cachet_only("memcached -e has no checksums (a bad .meta aborts it: see the next test)")
def test_damaged_files_start_empty_every_time(restarts):
    good = good_file(restarts)
    rng = random.Random(99)
    damaged = [b"", good[:100], good[:len(good) // 2], good[:-1], good + b"\0"]
    for _ in range(100):
        bad = bytearray(good)
        i = rng.randrange(len(bad))
        bad[i] ^= rng.randrange(1, 256)
        damaged.append(bytes(bad))
    for bad in damaged:
        with open(restarts.path, "wb") as f:
            f.write(bad)
        s = restarts.start()
        assert_empty_start(s)
        assert "[restart] starting with an empty cache: " in s.output()
        restarts.kill(s)  # (a graceful stop would overwrite the file)
    with open(restarts.path, "wb") as f:
        f.write(good)
    s = restarts.start()
    assert stats_dict(s)["curr_items"] == "300"


@pytest.mark.skipif(not IS_MEMCACHED, reason="documents memcached: cachet starts empty instead")
def test_memcached_aborts_on_a_malformed_meta_file(restarts):
    open(restarts.path, "wb").close()
    with open(restarts.path + ".meta", "wb") as f:
        f.write(b"garbage\n")
    r = subprocess.run([CACHET_BIN, "-e", restarts.path, "-p", "0", "-U", "0", "-u", "root"],
                       capture_output=True, timeout=30)
    assert r.returncode != 0 and b"corrupt metadata file" in r.stderr


@cachet_only("memcached keeps its items in the -e file itself, sized by -m")
def test_memory_limit_changes(restarts):
    s = restarts.start("-m", "64")
    keys = [b"k%d" % i for i in range(600)]
    mass_set(s, keys, b"x" * 100000)  # 60 MB: past -m 64, so eviction has started
    n64 = int(stats_dict(s)["curr_items"])
    restarts.stop(s)
    s = restarts.start("-m", "2048")
    assert stats_dict(s)["curr_items"] == str(n64)
    mass_set(s, [b"more%d" % i for i in range(1500)], b"y" * 100000)  # 150 MB more
    total = int(stats_dict(s)["curr_items"])
    assert total == n64 + 1500
    restarts.stop(s)
    s = restarts.start("-m", "64")
    st = stats_dict(s)
    assert 0 < int(st["curr_items"]) < total
    assert int(st["bytes"]) <= 64 << 20
    assert "left out: -m is smaller" in s.output()
    # what fits is the newest
    assert call(s, b"get more1499\r\n", b"END\r\n").startswith(b"VALUE more1499 ")
    restarts.stop(s)
    s = restarts.start("-m", "2048")
    assert stats_dict(s)["curr_items"] == st["curr_items"]


@cachet_only("needs the test clock")
def test_a_pending_delayed_flush_still_fires(restarts):
    s = restarts.start()
    assert call(s, b"set k 0 0 1\r\nv\r\n") == b"STORED\r\n"
    assert call(s, b"flush_all 600\r\n") == b"OK\r\n"
    restarts.stop(s)
    s = restarts.start()
    assert call(s, b"get k\r\n", b"END\r\n") == b"VALUE k 0 1\r\nv\r\nEND\r\n"
    debugtime(s, 601)
    assert call(s, b"get k\r\n", b"END\r\n") == b"END\r\n"


def test_stale_and_won_token_survive(restarts):
    s = restarts.start()
    c = Conn(s)
    assert c.call(b"set stale 0 0 1\r\na\r\n") == b"STORED\r\n"
    assert c.call(b"md stale I\r\n") == b"HD\r\n"
    first = c.call(b"mg stale v c\r\n", b"\r\na\r\n")
    assert b" W" in first and b" X" in first  # this client won the right to recache it
    c.close()
    before = call(s, b"mg stale v c\r\n", b"\r\na\r\n")
    assert b" X" in before and b" Z" in before  # stale, token already won
    restarts.stop(s)
    s = restarts.start()
    after = call(s, b"mg stale v c\r\n", b"\r\na\r\n")
    assert after == before  # still stale (a stale item never comes back fresh), same CAS


class _Address:
    """Enough of a Server for Conn: a loopback port."""

    def __init__(self, port):
        self.port = port

    def raw(self, timeout):
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)


@cachet_only("memcached's own file is what it loads")
def test_a_memcached_memory_file_is_refused_cleanly(restarts):
    memcached = "/usr/bin/memcached"
    if not os.path.exists(memcached):
        pytest.skip("Debian's memcached is not installed")
    port_file = os.path.join(restarts.dir, "ports")
    env = dict(os.environ, MEMCACHED_PORT_FILENAME=port_file)
    m = subprocess.Popen([memcached, "-e", restarts.path, "-m", "64", "-l", "127.0.0.1",
                          "-p", "-1", "-U", "0", "-u", "root"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        port = None
        while port is None and time.monotonic() < deadline:
            if os.path.exists(port_file):
                for line in open(port_file):
                    if line.startswith("TCP INET:"):
                        port = int(line.split(":")[1])
            time.sleep(0.01)  # polling for startup
        assert port
        c = Conn(_Address(port))
        assert c.call(b"set k 0 0 1\r\nv\r\n") == b"STORED\r\n"
        c.close()
        m.send_signal(signal.SIGUSR1)
        assert m.wait(timeout=30) == 0
    finally:
        if m.poll() is None:
            m.kill()
            m.wait()
    assert os.path.exists(restarts.path + ".meta")
    s = restarts.start("-m", "64")
    assert "memcached -e memory file" in status(s)
    assert_empty_start(s)
    restarts.stop(s)
    # cachet's save replaced memcached's file: the .meta that described it is gone
    assert not os.path.exists(restarts.path + ".meta")
    s = restarts.start("-m", "64")
    assert status(s) == "loaded"


@cachet_only("cachet's stats")
def test_stats_settings_and_metrics(restarts):
    s = restarts.start()
    st = stats_dict(s)
    assert st["restart_status"] == "clean"
    assert stats_dict(s, b"settings")["memory_file"] == restarts.path
    mass_set(s, [b"k%d" % i for i in range(10)], b"v")
    restarts.stop(s)
    s = restarts.start("-o", "metrics_port=-1")
    st = stats_dict(s)
    assert (st["restart_status"], st["restart_loaded_items"], st["restart_expired_items"]) == \
        ("loaded", "10", "0")
    assert int(st["restart_load_ms"]) >= 0
    assert st["snapshot_last_status"] == "none"
    with open(os.path.join(s.tmpdir, "ports")) as f:
        port = [int(line.split(":")[1]) for line in f if line.startswith("METRICS INET:")][0]
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    assert 'cachet_restart_status{status="loaded"} 1' in text
    assert "cachet_restart_loaded_items 10" in text
    assert 'cachet_snapshot_last_status{status="none"} 1' in text


@cachet_only("cachet's save logs")
def test_a_failed_save_is_logged_and_leaves_the_old_file(restarts):
    s = restarts.start()
    assert call(s, b"set k 0 0 1\r\nv\r\n") == b"STORED\r\n"
    restarts.stop(s)
    with open(restarts.path, "rb") as f:
        good = f.read()
    s = restarts.start()
    os.chmod(restarts.dir, 0o500)  # the .tmp cannot be created
    try:
        if os.geteuid() == 0:
            # root ignores the mode: make the .tmp name a directory instead
            os.chmod(restarts.dir, 0o700)
            os.mkdir(restarts.path + ".tmp")
        out = restarts.stop(s)
    finally:
        os.chmod(restarts.dir, 0o700)
    assert "[restart] saved nothing: open " in out and "is left as it was" in out
    with open(restarts.path, "rb") as f:
        assert f.read()[256:] == good[256:]  # the same items (its header says it was loaded)
    if os.path.isdir(restarts.path + ".tmp"):
        os.rmdir(restarts.path + ".tmp")


@cachet_only("cachet's flags")
def test_snapshot_options_need_a_file():
    r = subprocess.run([CACHET_BIN, "-o", "snapshot_interval=5", "-p", "0", "-U", "0"],
                       capture_output=True, timeout=10)
    assert (r.returncode, r.stderr) == (64, b"cachet: snapshot_interval and restore_unclean "
                                            b"need -e <file>\n")


# --- online snapshots -------------------------------------------------------------------------

@cachet_only("cachet's snapshot command")
def test_snapshot_command_writes_a_file_loaded_only_with_restore_unclean(restarts):
    s = restarts.start("-A")
    mass_set(s, [b"k%d" % i for i in range(1000)], b"v" * 50)
    assert call(s, b"snapshot\r\n") == b"OK\r\n"
    st = stats_dict(s)
    assert st["snapshot_last_status"] == "ok"
    assert int(st["snapshot_last_bytes"]) == os.path.getsize(restarts.path)
    assert int(st["snapshot_last_ms"]) >= 0
    assert call(s, b"delete k1\r\n") == b"DELETED\r\n"
    restarts.kill(s)  # a crash: the last file is the online snapshot
    s = restarts.start()
    assert "an online snapshot, not a clean stop's" in status(s)
    assert_empty_start(s)
    restarts.kill(s)
    s = restarts.start("-o", "restore_unclean=3600")
    assert status(s) == "loaded"
    # not exact: the key deleted after the snapshot is back
    assert stats_dict(s)["curr_items"] == "1000"


@cachet_only("cachet's snapshot command")
def test_snapshot_command_needs_A_and_a_file_and_no_arguments(restarts, server_factory):
    s = restarts.start()
    assert call(s, b"snapshot\r\n") == b"ERROR: snapshot not enabled\r\n"
    s = restarts.start("-A")
    assert call(s, b"snapshot now\r\n") == b"CLIENT_ERROR bad command line format\r\n"
    plain = server_factory("-A")
    assert call(plain, b"snapshot\r\n") == b"SERVER_ERROR snapshot needs -e <file>\r\n"
    assert call(plain, b"stats\r\n", b"END\r\n").count(b"restart_status") == 0


@cachet_only("cachet's snapshot command")
def test_a_waiting_snapshot_holds_up_only_its_own_connection(restarts):
    """The snapshot is held up (its .tmp is a FIFO nobody reads yet): the connection that asked
    waits, with what it sent after; another client of the same worker thread is served."""
    s = restarts.start("-A", "-t", "1")
    mass_set(s, [b"k%d" % i for i in range(100)], b"v")
    os.mkfifo(restarts.path + ".tmp")
    a = Conn(s, timeout=30)
    a.send(b"snapshot\r\nget k1\r\n")
    b = Conn(s)
    for _ in range(20):
        assert b.call(b"get k2\r\n", b"END\r\n") == b"VALUE k2 0 1\r\nv\r\nEND\r\n"
    # the save now writes into the FIFO, and fails at its fsync: the reply says so
    fifo = os.open(restarts.path + ".tmp", os.O_RDONLY)
    try:
        while os.read(fifo, 1 << 20):
            pass
    finally:
        os.close(fifo)
    assert a.read_line() == b"SERVER_ERROR snapshot failed\r\n"
    assert a.read_until(b"END\r\n") == b"VALUE k1 0 1\r\nv\r\nEND\r\n"
    st = stats_dict(s)
    assert st["snapshot_last_status"].startswith("failed:")
    assert st["snapshot_failures"] == "1"
    assert call(s, b"snapshot\r\n") == b"OK\r\n"  # the next one works
    a.close()
    b.close()


@cachet_only("cachet's -o snapshot_interval")
def test_snapshot_interval_saves_while_serving(restarts):
    from operator_helpers import wait_for
    s = restarts.start("-o", "snapshot_interval=1")
    mass_set(s, [b"k%d" % i for i in range(10)], b"v")
    wait_for(lambda: stats_dict(s)["snapshot_last_status"] == "ok", what="an online snapshot")
    assert os.path.getsize(restarts.path) > 0


@cachet_only("cachet's snapshot command")
def test_snapshots_while_clients_write_restore_only_whole_values(restarts):
    """Writers keep replacing and deleting keys (-m 8, so eviction moves items too) while
    snapshots are taken; the last one, loaded after a crash, holds only values some client
    wrote whole."""
    import threading
    s = restarts.start("-A", "-m", "8", "-t", "2")
    stop = threading.Event()
    errors = []
    written = [0, 0]

    def writer(seed):
        rng = random.Random(seed)
        c = Conn(s, timeout=30)
        # noreply sets get no answer to carry the ACK: without this, Nagle holds each one back
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            n = 0
            while not stop.is_set():
                key = b"k%d" % rng.randrange(3000)
                value = bytes([97 + n % 26]) * rng.randrange(1, 4000)
                out = b"set %s 0 0 %d noreply\r\n%s\r\n" % (key, len(value), value)
                if n % 11 == 0:
                    out += b"delete %s noreply\r\n" % key
                if n % 5 == 0:  # read items move to the main queue when eviction meets them
                    c.call(out + b"get %s\r\n" % key, b"END\r\n")
                else:
                    c.send(out)
                n += 1
                written[seed] = n
        except Exception as e:  # reported below
            errors.append(e)
        finally:
            c.close()

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    try:
        for round_ in range(1, 6):
            # each snapshot after another ~4 MB of writes: half the cache turns over
            while sum(written) < round_ * 2000 and not errors:
                time.sleep(0.01)  # waiting for the writers' progress, not for the server
            assert call(s, b"snapshot\r\n") == b"OK\r\n"
        assert int(stats_dict(s)["evictions"]) > 0
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors
    restarts.kill(s)
    s = restarts.start("-m", "8", "-o", "restore_unclean=3600")
    assert status(s) == "loaded"
    c = Conn(s, timeout=30)
    for i in range(0, 3000, 100):
        keys = b" ".join(b"k%d" % j for j in range(i, i + 100))
        reply = c.call(b"get " + keys + b"\r\n", b"END\r\n")
        lines = reply.split(b"\r\n")
        for j, line in enumerate(lines):
            if line.startswith(b"VALUE"):
                value = lines[j + 1]
                assert int(line.split()[3]) == len(value)
                assert value == value[:1] * len(value), line
    c.close()


@cachet_only("flush_prefix and the crawler are cachet's; memcached -e saves what flush_all hid")
@pytest.mark.parametrize("sweep", [False, True])
def test_flushed_and_prefix_flushed_items_stay_gone_after_a_restart(restarts, sweep):
    # Without the crawler's background sweep, the rules are still active at the save.
    s = restarts.start(*(() if sweep else ("-o", "no_lru_crawler,no_lru_maintainer")))
    c = Conn(s)
    for key in (b"gone:1", b"gone:2", b"kept:1", b"all:1"):
        assert c.call(b"set %s 0 0 1\r\nv\r\n" % key) == b"STORED\r\n"
    assert c.call(b"flush_all\r\n") == b"OK\r\n"
    for key in (b"gone:1", b"gone:2", b"kept:1"):
        assert c.call(b"set %s 0 0 1\r\nw\r\n" % key) == b"STORED\r\n"
    assert c.call(b"flush_prefix gone:\r\n") == b"OK\r\n"
    assert c.call(b"set gone:2 0 0 1\r\nx\r\n") == b"STORED\r\n"
    c.close()
    restarts.stop(s)
    s = restarts.start()
    c = Conn(s)
    assert c.call(b"get gone:1 gone:2 kept:1 all:1\r\n", b"END\r\n") == (
        b"VALUE gone:2 0 1\r\nx\r\nVALUE kept:1 0 1\r\nw\r\nEND\r\n")
    assert stats_dict(s)["curr_items"] == "2"
    c.close()


@cachet_only("mp is cachet's")
def test_items_a_stale_rule_covers_come_back_stale(restarts):
    s = restarts.start("-o", "no_lru_crawler")  # the rule is still active at the save
    c = Conn(s)
    for key in (b"st:1", b"st:2", b"fresh"):
        assert c.call(b"set %s 0 0 1\r\nv\r\n" % key) == b"STORED\r\n"
    assert c.call(b"mp st: I\r\n") == b"HD\r\n"
    c.close()
    restarts.stop(s)
    s = restarts.start()
    c = Conn(s)
    c.send(b"mg st:1 v\r\nmg st:2 v\r\nmg fresh v\r\nmn\r\n")
    assert c.read_until(b"MN\r\n") == (b"VA 1 X W\r\nv\r\nVA 1 X W\r\nv\r\nVA 1\r\nv\r\nMN\r\n")
    c.close()
