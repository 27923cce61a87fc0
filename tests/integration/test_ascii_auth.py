"""ascii authentication (-Y <file>) as Debian's memcached 1.6.18 does it: the file's rules and
start-up errors, the `set` that authenticates, every error text, reloads on SIGHUP, stats, and
TLS. Every test also passes against /usr/bin/memcached except those marked as deliberate
differences (README.md, "Security").
"""
import os
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import CACHET_BIN, IS_MEMCACHED, Conn, memcached_only_difference, not_in_cachet
from text_helpers import VERSION_LINE, stats
from tls_helpers import start_tls, tls_connect

ROOT_ARGS = ["-u", "root"] if os.geteuid() == 0 else []
UNAUTH = b"CLIENT_ERROR unauthenticated\r\n"
FAILURE = b"CLIENT_ERROR authentication failure\r\n"
BAD_TOKENS = b"CLIENT_ERROR bad authentication token format\r\n"
BAD_TERMINATION = b"CLIENT_ERROR bad command line termination\r\n"


def auth_line(user, password, key=b"auth", extra=b""):
    payload = user + b" " + password
    return b"set %s 0 0 %d%s\r\n%s\r\n" % (key, len(payload), extra, payload)


@pytest.fixture
def authfile():
    """Writes an auth file (text given as bytes) and returns its path."""
    made = []

    def write(text, path=None):
        if path is None:
            fd, path = tempfile.mkstemp(prefix="cachet-auth-")
            os.close(fd)
            made.append(path)
        with open(path, "wb") as f:
            f.write(text)
        return path
    yield write
    for p in made:
        os.remove(p)


@pytest.fixture
def auth_server(server_factory, authfile):
    path = authfile(b"alice:secret\nbob:pa:ss:word\r\n")
    s = server_factory("-Y", path)
    s.authfile = path
    return s


def run(*args):
    return subprocess.run([CACHET_BIN, *ROOT_ARGS, "-l", "127.0.0.1", *args],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)


def login(conn, user=b"alice", password=b"secret"):
    return conn.call(auth_line(user, password))


def wait_until(predicate, timeout=10, what="condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)  # memcached reloads the file in its once-a-second clock tick


# --- start-up ------------------------------------------------------------------------------------

@pytest.mark.parametrize("proto", ["binary", "auto"])
def test_other_protocol_exits_64(authfile, proto):
    r = run("-Y", authfile(b"a:b\n"), "-B", proto)
    assert (r.returncode, r.stderr) == (
        64, b"ERROR: You cannot allow the BINARY protocol while using ascii authentication "
            b"tokens.\n")


def test_udp_exits_64(authfile):
    r = run("-Y", authfile(b"a:b\n"), "-U", "22198", "-p", "0")
    assert (r.returncode, r.stderr) == (
        64, b"Cannot use UDP with ascii authentication enabled (-U 0 to disable)\n")


def test_missing_file_exits_1():
    r = run("-Y", "/nonexistent/authfile")
    assert (r.returncode, r.stderr) == (
        1, b"Could not open authfile [/nonexistent/authfile] for reading, error No such file "
           b"or directory: No such file or directory\n")


@pytest.mark.parametrize("text", [b"nocolon\n", b"a:b\n\nc:d\n", b"\n", b"a:b\nbroken\n"])
def test_malformed_file_exits_1(authfile, text):
    path = authfile(text)
    r = run("-Y", path)
    assert (r.returncode, r.stderr) == (
        1, b"Authfile [%s] has a malformed entry. Should be 'user:password'" % path.encode())


def test_empty_file_is_accepted_and_nobody_logs_in(server_factory, authfile):
    s = server_factory("-Y", authfile(b""))
    c = Conn(s)
    assert login(c) == FAILURE


# --- authenticating ------------------------------------------------------------------------------

def test_commands_before_auth_are_refused_and_connection_stays(auth_server):
    c = Conn(auth_server)
    for line in (b"get k\r\n", b"version\r\n", b"mg k v\r\n", b"stats\r\n", b"add x 0 0 5\r\n",
                 b"SET x 0 0 5\r\n", b"set x 0 0\r\n", b"set x 0 0 abc\r\n", b"\r\n"):
        assert c.call(line) == UNAUTH, line
    assert login(c) == b"STORED\r\n"
    assert c.call(b"version\r\n") == VERSION_LINE


def test_auth_set_stores_nothing(auth_server):
    c = Conn(auth_server)
    assert login(c) == b"STORED\r\n"
    assert c.call(b"get auth\r\n") == b"END\r\n"


def test_password_may_hold_colons_and_crlf_file(auth_server):
    c = Conn(auth_server)
    assert login(c, b"bob", b"pa:ss:word") == b"STORED\r\n"


def test_noreply_is_ignored(auth_server):
    c = Conn(auth_server)
    assert c.call(auth_line(b"alice", b"secret", extra=b" noreply")) == b"STORED\r\n"


def test_extra_tokens_in_payload_are_ignored(auth_server):
    c = Conn(auth_server)
    assert c.call(b"set k 0 0 15\r\nalice secret zz\r\n") == b"STORED\r\n"


def test_lf_only_command_line(auth_server):
    c = Conn(auth_server)
    assert c.call(b"set k 0 0 12\nalice secret\r\n") == b"STORED\r\n"


@pytest.mark.parametrize("payload, reply", [
    (b"alice wrong", FAILURE),
    (b"mallory secret", FAILURE),
    (b"alice secre", FAILURE),
    (b"alice", BAD_TOKENS),
    (b"  ", BAD_TOKENS),
    (b"", BAD_TOKENS),
    (b"alice\tsecret", BAD_TOKENS),
])
def test_bad_credentials(auth_server, payload, reply):
    c = Conn(auth_server)
    assert c.call(b"set k 0 0 %d\r\n%s\r\n" % (len(payload), payload)) == reply
    assert c.call(b"get k\r\n") == UNAUTH  # still open, still unauthenticated
    assert login(c) == b"STORED\r\n"


def test_payload_must_end_with_crlf(auth_server):
    c = Conn(auth_server)
    assert c.call(b"set k 0 0 12\r\nalice secretXY") == BAD_TERMINATION
    assert c.call(b"get k\r\n") == UNAUTH


def test_long_line_without_newline_closes(auth_server):
    c = Conn(auth_server)
    c.send(b"x" * 2049)
    assert c.is_closed()


def test_long_line_with_newline_is_refused(auth_server):
    c = Conn(auth_server)
    assert c.call(b"x" * 2048 + b"\r\n") == UNAUTH


def test_counters_and_settings(auth_server):
    c = Conn(auth_server)
    assert c.call(b"set k 0 0 5\r\nalice\r\n") == BAD_TOKENS  # not counted
    assert login(c, password=b"nope") == FAILURE
    assert login(c) == b"STORED\r\n"
    st = stats(c)
    assert (st["auth_cmds"], st["auth_errors"]) == ("2", "1")
    settings = stats(c, b"settings")
    assert settings["auth_enabled_ascii"] == auth_server.authfile
    assert settings["auth_enabled_sasl"] == "no"
    assert settings["binding_protocol"] == "ascii"


def test_auth_over_tls(server_factory, authfile, certs):
    s = start_tls(server_factory, certs, "-Y", authfile(b"alice:secret\n"))
    c = tls_connect(s, certs.client_context())
    assert c.call(b"get k\r\n") == UNAUTH
    assert login(c) == b"STORED\r\n"
    assert c.call(b"set k 0 0 1\r\nv\r\n") == b"STORED\r\n"
    assert c.call(b"get k\r\n", b"END\r\n") == b"VALUE k 0 1\r\nv\r\nEND\r\n"


# --- pipelining ----------------------------------------------------------------------------------

def test_auth_then_pipelined_commands(auth_server):
    c = Conn(auth_server)
    c.send(auth_line(b"alice", b"secret") + b"set k 0 0 1\r\nv\r\nget k\r\n")
    assert c.read_until(b"END\r\n") == b"STORED\r\nSTORED\r\nVALUE k 0 1\r\nv\r\nEND\r\n"


@memcached_only_difference("memcached answers only the last of pipelined unauthenticated lines")
def test_pipelined_refusals_are_each_answered(auth_server):
    c = Conn(auth_server)
    c.send(b"get a\r\nget b\r\n" + auth_line(b"alice", b"wrong") + b"version\r\n")
    assert c.read_exactly(len(UNAUTH) * 3 + len(FAILURE)) == UNAUTH * 2 + FAILURE + UNAUTH


@not_in_cachet("memcached answers only the last of pipelined unauthenticated lines")
def test_memcached_answers_only_last_pipelined_refusal(auth_server):
    c = Conn(auth_server)
    c.send(b"get a\r\nget b\r\nversion\r\n")
    assert c.read_line() == UNAUTH
    assert c.call(b"get c\r\n") == UNAUTH  # nothing else was pending


# --- the file ------------------------------------------------------------------------------------

@memcached_only_difference("memcached reads at most 8 entries")
def test_more_than_eight_entries(server_factory, authfile):
    s = server_factory("-Y", authfile(b"".join(b"u%d:p%d\n" % (i, i) for i in range(20))))
    for i in (0, 8, 19):
        assert login(Conn(s), b"u%d" % i, b"p%d" % i) == b"STORED\r\n"


@not_in_cachet("memcached reads at most 8 entries")
def test_memcached_reads_eight_entries(server_factory, authfile):
    s = server_factory("-Y", authfile(b"".join(b"u%d:p%d\n" % (i, i) for i in range(20))))
    assert login(Conn(s), b"u7", b"p7") == b"STORED\r\n"
    assert login(Conn(s), b"u8", b"p8") == FAILURE


@memcached_only_difference("memcached drops the last password character without a newline")
def test_one_line_without_trailing_newline(server_factory, authfile):
    s = server_factory("-Y", authfile(b"alice:secret"))
    assert login(Conn(s)) == b"STORED\r\n"


@not_in_cachet("memcached drops the last password character without a newline")
def test_memcached_one_line_without_newline_loses_a_character(server_factory, authfile):
    s = server_factory("-Y", authfile(b"alice:secret"))
    assert login(Conn(s)) == FAILURE
    assert login(Conn(s), password=b"secre") == b"STORED\r\n"


def test_sighup_reloads_the_file(auth_server, authfile):
    authfile(b"carol:new\n", path=auth_server.authfile)
    auth_server.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: login(Conn(auth_server), b"carol", b"new") == b"STORED\r\n",
               what="the reloaded file")
    assert login(Conn(auth_server)) == FAILURE  # alice is gone


def test_malformed_reload_keeps_old_credentials(auth_server, authfile):
    c = Conn(auth_server)
    assert login(c) == b"STORED\r\n"
    authfile(b"carol:new\n", path=auth_server.authfile)
    auth_server.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: login(Conn(auth_server), b"carol", b"new") == b"STORED\r\n",
               what="the first reload")
    authfile(b"malformed\n", path=auth_server.authfile)
    auth_server.proc.send_signal(signal.SIGHUP)
    if not IS_MEMCACHED:  # cachet reports the refused file (memcached says nothing)
        wait_until(lambda: b"has a malformed entry" in auth_server.output().encode(),
                   what="the refused reload")
    # Whenever the bad reload happens, carol keeps working and alice stays refused.
    for _ in range(3):
        assert login(Conn(auth_server), b"carol", b"new") == b"STORED\r\n"
        assert login(Conn(auth_server)) == FAILURE
    assert c.call(b"version\r\n") == VERSION_LINE
    assert auth_server.proc.poll() is None
