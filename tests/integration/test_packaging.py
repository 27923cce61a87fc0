"""Debian-style service packaging (packaging/): the install rules, the systemd unit, the man
page, the sysusers/tmpfiles entries and cachet-wrapper, which turns a memcached.conf-style file
into a command line.

cachet's own files: skipped when CACHET_BIN is memcached. The install test runs
`cmake --install <build dir> --prefix /usr` into a temporary DESTDIR; the build dir is
$CACHET_BUILD_DIR, else the directory of CACHET_BIN when it is a CMake build dir, else build/.
It needs `include(packaging/install.cmake)` in CMakeLists.txt (re-run cmake after adding it).
"""
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import CACHET_BIN, IS_MEMCACHED, REPO

pytestmark = pytest.mark.skipif(IS_MEMCACHED, reason="cachet's own packaging")

PACKAGING = os.path.join(REPO, "packaging")
WRAPPER = os.path.join(PACKAGING, "cachet-wrapper")
DEBIAN_CONF = next((p for p in ("/etc/memcached.conf",
                                "/usr/share/memcached/memcached.conf.default")
                    if os.path.exists(p)), None)
MEMCACHED_UNIT = next((p for p in ("/lib/systemd/system/memcached.service",
                                   "/usr/lib/systemd/system/memcached.service")
                       if os.path.exists(p)), None)
ROOT = os.geteuid() == 0


def build_dir():
    if os.environ.get("CACHET_BUILD_DIR"):
        return os.environ["CACHET_BUILD_DIR"]
    bin_dir = os.path.dirname(os.path.abspath(CACHET_BIN))
    if os.path.exists(os.path.join(bin_dir, "CMakeCache.txt")):
        return bin_dir
    return os.path.join(REPO, "build")


# --- install rules ----------------------------------------------------------------------------

EXPECTED = {
    "usr/bin/cachet": 0o755,
    "usr/lib/cachet/cachet-wrapper": 0o755,
    "usr/lib/systemd/system/cachet.service": 0o644,
    "etc/cachet.conf": 0o644,
    "usr/lib/sysusers.d/cachet.conf": 0o644,
    "usr/lib/tmpfiles.d/cachet.conf": 0o644,
    "usr/share/man/man1/cachet.1": 0o644,
    "usr/share/doc/cachet/README.md": 0o644,
}
SOURCES = {
    "usr/lib/cachet/cachet-wrapper": "packaging/cachet-wrapper",
    "usr/lib/systemd/system/cachet.service": "packaging/cachet.service",
    "etc/cachet.conf": "packaging/cachet.conf",
    "usr/lib/sysusers.d/cachet.conf": "packaging/cachet.sysusers",
    "usr/lib/tmpfiles.d/cachet.conf": "packaging/cachet.tmpfiles",
    "usr/share/man/man1/cachet.1": "packaging/cachet.1",
    "usr/share/doc/cachet/README.md": "README.md",
}


@pytest.fixture(scope="module")
def installed():
    cmake = shutil.which("cmake")
    if not cmake:
        pytest.skip("cmake not installed")
    build = build_dir()
    if not os.path.exists(os.path.join(build, "cmake_install.cmake")):
        pytest.skip(f"{build} is not a configured CMake build dir")
    destdir = tempfile.mkdtemp(prefix="cachet-destdir-")
    r = subprocess.run([cmake, "--install", build, "--prefix", "/usr"],
                       env=dict(os.environ, DESTDIR=destdir), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=120)
    assert r.returncode == 0, r.stdout.decode()
    assert os.path.exists(os.path.join(destdir, "usr/lib/cachet/cachet-wrapper")), \
        f"{build} has no packaging install rules: add include(packaging/install.cmake) to " \
        f"CMakeLists.txt and re-run cmake\n{r.stdout.decode()}"
    yield destdir
    shutil.rmtree(destdir, ignore_errors=True)


def test_install_layout(installed):
    found = sorted(os.path.relpath(os.path.join(d, f), installed)
                   for d, _, files in os.walk(installed) for f in files)
    assert found == sorted(EXPECTED)
    for rel, mode in EXPECTED.items():
        st = os.lstat(os.path.join(installed, rel))
        assert stat.S_ISREG(st.st_mode), rel
        assert stat.S_IMODE(st.st_mode) == mode, (rel, oct(stat.S_IMODE(st.st_mode)))
    for rel, src in SOURCES.items():
        with open(os.path.join(installed, rel), "rb") as a, \
                open(os.path.join(REPO, src), "rb") as b:
            assert a.read() == b.read(), rel
    built = os.path.join(build_dir(), "cachet")
    if os.path.exists(built):
        with open(os.path.join(installed, "usr/bin/cachet"), "rb") as a, open(built, "rb") as b:
            assert a.read() == b.read()


def test_install_keeps_an_existing_conf(installed):
    build = build_dir()
    destdir = tempfile.mkdtemp(prefix="cachet-destdir-")
    try:
        os.makedirs(os.path.join(destdir, "etc"))
        with open(os.path.join(destdir, "etc/cachet.conf"), "w") as f:
            f.write("-m 1024\n")
        r = subprocess.run(["cmake", "--install", build, "--prefix", "/usr"],
                           env=dict(os.environ, DESTDIR=destdir), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=120)
        assert r.returncode == 0, r.stdout
        with open(os.path.join(destdir, "etc/cachet.conf")) as f:
            assert f.read() == "-m 1024\n"
    finally:
        shutil.rmtree(destdir, ignore_errors=True)


def test_unit_passes_systemd_analyze_verify(installed, tmp_path):
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        pytest.skip("systemd-analyze not installed")
    # verify checks that ExecStart's program exists and that man:cachet(1) resolves: point the
    # copy at the staged wrapper and MANPATH at the staged man pages.
    with open(os.path.join(installed, "usr/lib/systemd/system/cachet.service")) as f:
        unit = f.read()
    wrapper = os.path.join(installed, "usr/lib/cachet/cachet-wrapper")
    assert "ExecStart=/usr/lib/cachet/cachet-wrapper /etc/cachet.conf\n" in unit
    (tmp_path / "cachet.service").write_text(
        unit.replace("/usr/lib/cachet/cachet-wrapper", wrapper))
    r = subprocess.run([analyze, "verify", str(tmp_path / "cachet.service")],
                       env=dict(os.environ, MANPATH=os.path.join(installed, "usr/share/man")),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    # unknown keys and bad values are only warnings: the output must be empty too
    assert (r.returncode, r.stdout.decode()) == (0, "")


def unit_directives(path):
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith(("#", ";", "[")) and "=" in line:
                key, value = line.split("=", 1)
                out[key] = value
    return out


HARDENING = {
    "PrivateTmp": "true", "ProtectSystem": "full", "NoNewPrivileges": "true",
    "PrivateDevices": "true", "CapabilityBoundingSet": "CAP_SETGID CAP_SETUID CAP_SYS_RESOURCE",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX", "MemoryDenyWriteExecute": "true",
    "ProtectKernelModules": "true", "ProtectKernelTunables": "true",
    "ProtectControlGroups": "true", "RestrictRealtime": "true", "RestrictNamespaces": "true",
}


def test_unit_has_memcacheds_hardening():
    ours = unit_directives(os.path.join(PACKAGING, "cachet.service"))
    assert {k: ours.get(k) for k in HARDENING} == HARDENING
    if MEMCACHED_UNIT:
        theirs = unit_directives(MEMCACHED_UNIT)
        assert {k: theirs.get(k) for k in HARDENING} == HARDENING  # the same list as Debian's
    assert ours["ExecStart"] == "/usr/lib/cachet/cachet-wrapper /etc/cachet.conf"
    assert ours["Restart"] == "always"
    assert ours["ExecReload"] == "/bin/kill -HUP $MAINPID"  # -Y file and -Z certificates
    assert ours["WantedBy"] == "multi-user.target"
    assert "User" not in ours  # starts as root, the server drops to -u cachet
    # -e's state directory, writable by the group the server keeps
    assert (ours["StateDirectory"], ours["StateDirectoryMode"], ours["Group"]) == \
        ("cachet", "0770", "cachet")
    with open(os.path.join(PACKAGING, "cachet.conf")) as f:
        assert "\n# -e /var/lib/cachet/cache.snapshot\n" in f.read()


# --- man page, sysusers, tmpfiles -------------------------------------------------------------

MEMCACHED_FLAGS = [
    ("p", "port"), ("U", "udp-port"), ("s", "unix-socket"), ("a", "unix-mask"),
    ("A", "enable-shutdown"), ("l", "listen"), ("d", "daemon"), ("r", "enable-coredumps"),
    ("u", "user"), ("m", "memory-limit"), ("M", "disable-evictions"), ("c", "conn-limit"),
    ("k", "lock-memory"), ("v", "verbose"), ("h", "help"), ("i", "license"), ("V", "version"),
    ("P", "pidfile"), ("f", "slab-growth-factor"), ("n", "slab-min-size"),
    ("L", "enable-largepages"), ("t", "threads"), ("R", "max-reqs-per-event"),
    ("C", "disable-cas"), ("b", "listen-backlog"), ("B", "protocol"), ("I", "max-item-size"),
    ("S", "enable-sasl"), ("F", "disable-flush-all"), ("X", "disable-dumping"),
    ("W", "disable-watch"), ("Y", "auth-file"), ("e", "memory-file"), ("Z", "enable-ssl"),
    ("N", "napi_ids"), ("o", "extended"),
]


def render_man(path):
    if shutil.which("man"):
        cmd = ["man", "-l", path]
    elif shutil.which("groff"):
        cmd = ["groff", "-man", "-Tutf8", path]
    else:
        pytest.skip("neither man nor groff installed")
    r = subprocess.run(cmd, env=dict(os.environ, MANWIDTH="100", MAN_KEEP_FORMATTING="0"),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stderr == b"", r.stderr
    # drop overstrike bold/underline if any
    return re.sub(r".\x08", "", r.stdout.decode())


def test_man_page_renders_and_lists_every_flag():
    text = render_man(os.path.join(PACKAGING, "cachet.1"))
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "FILES", "ENVIRONMENT",
                    "SIGNALS", "EXIT STATUS", "SEE ALSO"):
        assert re.search(rf"^{section}$", text, re.M), section
    for short, long_ in MEMCACHED_FLAGS:
        assert re.search(rf"^\s+-{short}, --{long_}\b", text, re.M), (short, long_)
    assert re.search(r"^\s+-D char$", text, re.M)
    for word in ("idle_timeout=seconds", "hashpower=n", "track_sizes", "/etc/cachet.conf",
                 "/etc/memcached.conf", "MEMCACHED_PORT_FILENAME", "CACHET_DEBUGTIME",
                 "SIGTERM", "SIGUSR1", "SIGHUP", "cachet-wrapper"):
        assert word in text, word


def test_man_page_has_no_groff_warnings():
    if not shutil.which("groff"):
        pytest.skip("groff not installed")
    r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z",
                        os.path.join(PACKAGING, "cachet.1")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert (r.returncode, r.stderr) == (0, b"")


def test_installed_man_page_is_found_by_man(installed):
    if not shutil.which("man"):
        pytest.skip("man not installed")
    r = subprocess.run(["man", "-w", "cachet"],
                       env=dict(os.environ, MANPATH=os.path.join(installed, "usr/share/man")),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert r.stdout.decode().strip() == os.path.join(installed, "usr/share/man/man1/cachet.1")


def test_sysusers_creates_the_cachet_user(tmp_path):
    sysusers = shutil.which("systemd-sysusers")
    if not sysusers:
        pytest.skip("systemd-sysusers not installed")
    (tmp_path / "etc").mkdir()
    r = subprocess.run([sysusers, f"--root={tmp_path}",
                        os.path.join(PACKAGING, "cachet.sysusers")],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    assert r.returncode == 0, r.stdout
    passwd = (tmp_path / "etc/passwd").read_text()
    assert re.search(r"^cachet:x:(\d+):(\d+):cachet cache server:/nonexistent:/usr/sbin/nologin$",
                     passwd, re.M), passwd
    assert re.search(r"^cachet:x:\d+:$", (tmp_path / "etc/group").read_text(), re.M)


def test_tmpfiles_creates_run_cachet():
    with open(os.path.join(PACKAGING, "cachet.tmpfiles")) as f:
        lines = [line.split() for line in f if line.strip() and not line.startswith("#")]
    assert lines == [["d", "/run/cachet", "0755", "cachet", "cachet", "-"]]


# --- the wrapper: how a conf file becomes a command line --------------------------------------

FAKE_SERVER = """#!/bin/sh
for a do printf '[%s]\\n' "$a"; done
echo "fake server stderr" >&2
"""


@pytest.fixture
def fake(tmp_path):
    path = tmp_path / "fake-server"
    path.write_text(FAKE_SERVER)
    path.chmod(0o755)
    return str(path)


def run_wrapper(conf, bin_path, env=None, args=None):
    full_env = {k: v for k, v in os.environ.items() if k != "OPTIONS"}
    full_env["CACHET_BIN"] = bin_path
    full_env.update(env or {})
    return subprocess.run(["/bin/sh", WRAPPER, *([conf] if args is None else args)],
                          env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=30)


def argv_of(output):
    return re.findall(r"^\[(.*)\]$", output, re.M)


def rewrite(conf_text, replacements):
    """Replaces whole option lines: {"-p": "-p 1234", "logfile": "logfile /tmp/x"}."""
    out = []
    for line in conf_text.splitlines():
        first = line.split()[0] if line.split() else ""
        out.append(replacements.get(first, line))
    return "\n".join(out) + "\n"


def test_wrapper_reads_debians_memcached_conf_unchanged(tmp_path, fake):
    if not DEBIAN_CONF:
        pytest.skip("no Debian memcached.conf here")
    with open(DEBIAN_CONF) as f:
        text = f.read()
    log = tmp_path / "memcached.log"
    conf = tmp_path / "memcached.conf"
    conf.write_text(rewrite(text, {"logfile": f"logfile {log}"}))  # never the real log
    r = run_wrapper(str(conf), fake)
    assert (r.returncode, r.stdout, r.stderr) == (0, b"", b"")
    # -d and the logfile directive are dropped, the rest is passed in order; output goes to
    # the log file (appended)
    output = log.read_text()
    assert argv_of(output) == ["-m", "64", "-p", "11211", "-u", "memcache", "-l", "127.0.0.1",
                               "-P", "/var/run/memcached/memcached.pid"]
    assert output.endswith("fake server stderr\n")


def test_wrapper_reads_the_packaged_conf(tmp_path, fake):
    log = tmp_path / "cachet.log"
    with open(os.path.join(PACKAGING, "cachet.conf")) as f:
        text = f.read()
    assert "\nlogfile /var/log/cachet.log\n" in text
    conf = tmp_path / "cachet.conf"
    conf.write_text(rewrite(text, {"logfile": f"logfile {log}"}))
    r = run_wrapper(str(conf), fake)
    assert r.returncode == 0
    assert argv_of(log.read_text()) == ["-m", "64", "-p", "11211", "-u", "cachet", "-l",
                                        "127.0.0.1"]


def test_wrapper_syntax(tmp_path, fake):
    conf = tmp_path / "edge.conf"
    conf.write_bytes(
        b"# comment line\n"
        b"\n"
        b"   -m 32     # trailing comment\n"
        b"\t-o\tidle_timeout=5,hashpower=18\r\n"   # tabs, CRLF
        b"-d\n"                                     # never daemonize
        b"-h\n"
        b"-vv\n"
        b"someday_directive value\n"                # start-memcached era: ignored
        b"-logfile " + str(tmp_path / "edge.log").encode() + b"\n"
        b"-c 100 -t 2\n"                            # several options on one line
        b"-l 127.0.0.1,::1"                         # no final newline
    )
    r = run_wrapper(str(conf), fake, env={"OPTIONS": "-R 5 -m 48"})
    assert (r.returncode, r.stdout, r.stderr) == (0, b"", b"")
    expected = ["-m", "32", "-o", "idle_timeout=5,hashpower=18", "-vv", "-c", "100", "-t", "2",
                "-l", "127.0.0.1,::1", "-R", "5", "-m", "48"]
    if ROOT:
        expected += ["-u", "cachet"]  # as root without -u, the wrapper adds it
    assert argv_of((tmp_path / "edge.log").read_text()) == expected


@pytest.mark.parametrize("user_line", ["-u nobody", "-unobody", "--user=nobody", "--user nobody"])
def test_wrapper_keeps_the_confs_user(tmp_path, fake, user_line):
    conf = tmp_path / "u.conf"
    conf.write_text(f"-m 8\n{user_line}\n")
    r = run_wrapper(str(conf), fake)
    assert argv_of(r.stdout.decode()) == ["-m", "8", *user_line.split()]


def test_wrapper_user_from_options(tmp_path, fake):
    conf = tmp_path / "u.conf"
    conf.write_text("-m 8\n")
    r = run_wrapper(str(conf), fake, env={"OPTIONS": "-u nobody"})
    assert argv_of(r.stdout.decode()) == ["-m", "8", "-u", "nobody"]


def test_wrapper_without_logfile_writes_to_stdout_and_stderr(tmp_path, fake):
    conf = tmp_path / "plain.conf"
    conf.write_text("-p 1\n-u root\n")
    r = run_wrapper(str(conf), fake)
    assert argv_of(r.stdout.decode()) == ["-p", "1", "-u", "root"]
    assert r.stderr == b"fake server stderr\n"


def test_wrapper_unwritable_logfile_falls_back_to_stderr(tmp_path, fake):
    conf = tmp_path / "badlog.conf"
    conf.write_text("logfile /nonexistent-dir/cachet.log\n-p 1\n-u root\n")
    r = run_wrapper(str(conf), fake)
    assert r.returncode == 0
    assert argv_of(r.stdout.decode()) == ["-p", "1", "-u", "root"]
    assert r.stderr == b"cachet-wrapper: cannot write /nonexistent-dir/cachet.log; " \
                       b"logging to stderr\nfake server stderr\n"


def test_wrapper_errors(tmp_path, fake):
    r = run_wrapper(str(tmp_path / "missing.conf"), fake)
    assert (r.returncode, r.stderr) == \
        (78, f"cachet-wrapper: cannot read {tmp_path / 'missing.conf'}\n".encode())
    r = run_wrapper(None, fake, args=["a", "b"])
    assert (r.returncode, r.stderr) == (64, b"usage: cachet-wrapper [CONF]\n")


def test_wrapper_is_posix_sh():
    with open(WRAPPER) as f:
        assert f.readline() == "#!/bin/sh\n"
    assert os.access(WRAPPER, os.X_OK)
    for shell in ("dash", "bash"):
        path = shutil.which(shell)
        if path:
            r = subprocess.run([path, "-n", WRAPPER], stderr=subprocess.PIPE, timeout=10)
            assert (r.returncode, r.stderr) == (0, b""), shell
    if shutil.which("shellcheck"):
        r = subprocess.run(["shellcheck", "-s", "sh", WRAPPER], stdout=subprocess.PIPE,
                           timeout=60)
        assert r.returncode == 0, r.stdout.decode()


# --- the wrapper starting the real server -----------------------------------------------------

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def serve_through_wrapper(conf_path, port):
    """Starts the wrapper (it execs the server, so the pid is the server's) and waits until
    the port answers `version`."""
    proc = subprocess.Popen(["/bin/sh", WRAPPER, conf_path],
                            env=dict(os.environ, CACHET_BIN=CACHET_BIN),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        assert proc.poll() is None, f"server exited {proc.returncode}"
        try:
            c = socket.create_connection(("127.0.0.1", port), timeout=5)
            break
        except OSError:
            assert time.monotonic() < deadline, "server never listened"
            time.sleep(0.01)  # polling for the listener, not synchronising
    c.sendall(b"version\r\n")
    reply = c.recv(100)
    c.close()
    return proc, reply


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


def test_wrapper_starts_the_server(tmp_path):
    port = free_port()
    log = tmp_path / "cachet.log"
    conf = tmp_path / "cachet.conf"
    with open(os.path.join(PACKAGING, "cachet.conf")) as f:
        text = f.read()
    conf.write_text(rewrite(text, {"-p": f"-p {port}", "-u": "-u root" if ROOT else "",
                                   "logfile": f"logfile {log}", "-m": "-m 16"}) + "-U 0\n")
    proc, reply = serve_through_wrapper(str(conf), port)
    try:
        assert reply == b"VERSION 1.6.18\r\n"
        # the wrapper exec'd the server: same pid
        assert os.path.realpath(f"/proc/{proc.pid}/exe") == os.path.realpath(CACHET_BIN)
    finally:
        assert stop(proc) == 0
    assert log.exists()


@pytest.mark.skipif(not ROOT, reason="needs root (the conf says -u memcache)")
def test_wrapper_starts_the_server_from_debians_conf():
    if not DEBIAN_CONF:
        pytest.skip("no Debian memcached.conf here")
    try:
        memcache = pwd.getpwnam("memcache")
    except KeyError:
        pytest.skip("no memcache user")
    # The server writes its pid file after switching to memcache: a directory it can reach
    # (pytest's tmp_path lies under a 0700 directory).
    tmp_path = Path(tempfile.mkdtemp(prefix="cachet-debconf-"))
    os.chmod(tmp_path, 0o777)
    port = free_port()
    with open(DEBIAN_CONF) as f:
        text = f.read()
    conf = tmp_path / "memcached.conf"
    conf.write_text(rewrite(text, {"-p": f"-p {port}", "-l": "-l 127.0.0.1",
                                   "logfile": f"logfile {tmp_path / 'memcached.log'}",
                                   "-P": f"-P {tmp_path / 'memcached.pid'}"}) + "-U 0\n")
    proc, reply = serve_through_wrapper(str(conf), port)
    try:
        assert reply == b"VERSION 1.6.18\r\n"
        with open(f"/proc/{proc.pid}/status") as f:
            uid = [line.split()[1] for line in f if line.startswith("Uid:")][0]
        assert int(uid) == memcache.pw_uid  # the conf's -u memcache
        # the conf's -P (memcached writes it in the foreground too; see test_process_flags)
        pid_path = tmp_path / "memcached.pid"
        deadline = time.monotonic() + 10
        while not pid_path.exists():
            assert time.monotonic() < deadline, "no pid file"
            time.sleep(0.01)  # polling for the file
        assert pid_path.read_text() == f"{proc.pid}\n"
    finally:
        assert stop(proc) == 0
        shutil.rmtree(tmp_path, ignore_errors=True)
