"""TLS (-Z and the -o ssl_* options) as Debian's memcached 1.6.18 does it: start-up errors and
exit codes, the wire per verify mode and version, text/meta/binary over TLS with Debian's
clients, `notls` listeners, stats keys, `refresh_certs` and reloads.

Certificates are made with `openssl` for the run (tls_helpers.Certs). Every test also passes
against memcached (CACHET_BIN=/usr/bin/memcached) except those marked as deliberate
differences (README.md, "Security").
"""
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time

import bmemcached
import pymemcache
import pytest
from pymemcache.client.base import Client

from binary_helpers import GETK, NOOP, SET, SUCCESS, VERSION, BinConn, request, storage_extras
from conftest import CACHET_BIN, IS_MEMCACHED, Conn, memcached_only_difference, not_in_cachet
from text_helpers import VERSION_LINE, stats
from tls_helpers import closed_without_reply, free_port, start_tls, tls_connect

USER = ["-u", "root"] if os.geteuid() == 0 else []
TLS12 = ssl.TLSVersion.TLSv1_2
TLS13 = ssl.TLSVersion.TLSv1_3


def run(*args, timeout=10):
    """Runs the binary to completion (for flags that make it exit)."""
    return subprocess.run([CACHET_BIN, *USER, "-l", "127.0.0.1", "-p", str(free_port()), *args],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)


def wait_until(predicate, timeout=10, what="condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


@pytest.fixture(scope="module")
def tls_server(module_server_factory, certs):
    """One -Z server with a plaintext `notls` listener beside it."""
    return start_tls(module_server_factory, certs, notls_port=free_port())


@pytest.fixture(scope="module")
def notls_port(tls_server):
    from tls_helpers import listening_ports
    return next(p for p in listening_ports(tls_server) if p != tls_server.port)


# --- start-up ----------------------------------------------------------------------------------

def _last_line(stderr):
    return stderr.decode().rstrip("\r\n").rsplit("\n", 1)[-1]


@pytest.mark.parametrize("opts, message", [
    ("", "Error loading the certificate chain: (null) : error:8000000E:system library::Bad address"),
    ("ssl_chain_cert=/nonexistent.crt",
     "Error loading the certificate chain: /nonexistent.crt : "
     "error:80000002:system library::No such file or directory"),
    ("ssl_chain_cert={d}/server.crt",
     "Error loading the key: (null) : error:8000000E:system library::Bad address"),
    ("ssl_chain_cert={d}/server.crt,ssl_key=/nonexistent.key",
     "Error loading the key: /nonexistent.key : "
     "error:80000002:system library::No such file or directory"),
    ("ssl_chain_cert={d}/server.crt,ssl_key={d}/other.key",
     "Error loading the key: {d}/other.key : "
     "error:05800074:x509 certificate routines::key values mismatch"),
    ("ssl_chain_cert={d}/server.crt,ssl_key={d}/server.key,ssl_ca_cert=/nonexistent-ca.crt",
     "Error loading the CA certificate: /nonexistent-ca.crt : "
     "error:80000002:system library::No such file or directory"),
])
def test_certificate_errors_exit_64(certs, opts, message):
    r = run("-Z", *(["-o", opts.format(d=certs.dir)] if opts else []))
    assert r.returncode == 64
    assert r.stdout == b""
    # OpenSSL's remaining error queue comes first (its lines carry a thread id), then the
    # message, ended with CRLF as memcached builds it for refresh_certs too.
    assert r.stderr.endswith(b"\r\n")
    assert _last_line(r.stderr) == message.format(d=certs.dir)


def test_bad_cipher_list_exits_64(certs):
    r = run("-Z", "-o", certs.server_opts("ssl_ciphers=NOT-A-CIPHER"))
    assert (r.returncode, r.stderr) == (64, b"Error setting the provided cipher(s): NOT-A-CIPHER\n")


def test_tls_without_tcp_port_exits_64(certs):
    r = subprocess.run([CACHET_BIN, *USER, "-Z", "-p", "0", "-o", certs.server_opts()],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
    assert (r.returncode, r.stderr) == (64, b"ERROR: You cannot enable SSL without a TCP port.\n")


def test_notls_without_tls_exits_71():
    port = free_port()
    r = subprocess.run([CACHET_BIN, *USER, "-l", f"notls:127.0.0.1:{port}"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
    assert r.returncode == 71
    assert r.stderr == (b"'notls' option is valid only when SSL is enabled\n"
                        b"failed to listen on one of interface(s) notls:127.0.0.1:%d: Success\n"
                        % port)


@pytest.mark.parametrize("opt, message", [
    ("ssl_verify_mode=4", "Invalid ssl_verify_mode. Use help to see valid options."),
    ("ssl_verify_mode=-1", "Invalid ssl_verify_mode. Use help to see valid options."),
    ("ssl_min_version=4", "Invalid ssl_min_version. Use help to see valid options."),
    ("ssl_verify_mode=x", "could not parse argument to ssl_verify_mode"),
    ("ssl_min_version=", "could not parse argument to ssl_min_version"),
    ("ssl_keyformat=pem", "could not parse argument to ssl_keyformat"),
    ("ssl_wbuf_size=-1", "could not parse argument to ssl_wbuf_size"),
    ("ssl_chain_cert", "Missing ssl_chain_cert argument"),
    ("ssl_key", "Missing ssl_key argument"),
    ("ssl_ca_cert", "Missing ssl_ca_cert argument"),
    ("ssl_ciphers", "Missing ssl_ciphers argument"),
    ("ssl_verify_mode", "Missing ssl_verify_mode argument"),
    ("ssl_keyformat", "Missing ssl_keyformat argument"),
    ("ssl_wbuf_size", "Missing ssl_wbuf_size argument"),
    ("ssl_min_version", "Missing ssl_min_version argument"),
])
def test_bad_ssl_options_exit_1(opt, message):
    r = run("-Z", "-o", opt)
    assert (r.returncode, r.stderr.decode()) == (1, message + "\n")


# --- the wire ----------------------------------------------------------------------------------

def test_text_over_tls_with_ca_verification(tls_server, certs):
    c = Client(tls_server.address, tls_context=certs.client_context(), timeout=5)
    big = os.urandom(300 * 1024)
    assert c.set("tls:big", big, noreply=False)
    assert c.get("tls:big") == big
    assert c.version() == b"1.6.18"
    many = {f"tls:k{i}": b"v%d" % i * 100 for i in range(50)}
    assert c.set_many(many, noreply=False) == []
    assert c.get_many(list(many)) == many
    c.close()


def test_hostname_verification_fails_for_wrong_name(tls_server, certs):
    with pytest.raises(ssl.SSLCertVerificationError):
        tls_connect(tls_server, certs.client_context(), server_hostname="not-the-server")


def test_tls_and_notls_listeners_share_the_cache(tls_server, certs, notls_port):
    t = tls_connect(tls_server, certs.client_context())
    t.send(b"set shared 0 0 3\r\nabc\r\n")
    assert t.read_line() == b"STORED\r\n"
    p = Conn(tls_server)
    p.sock.close()
    p.sock = socket.create_connection(("127.0.0.1", notls_port), timeout=5)
    assert p.call(b"get shared\r\n", b"END\r\n") == b"VALUE shared 0 3\r\nabc\r\nEND\r\n"
    t.close()
    p.close()


def test_plaintext_client_on_tls_port_gets_no_reply(tls_server):
    c = Conn(tls_server)
    c.send(b"version\r\n")
    assert closed_without_reply(c)


def test_pipelined_text_meta_and_values_up_to_item_max(tls_server, certs):
    c = tls_connect(tls_server, certs.client_context())
    value = b"m" * (1024 * 1024 - 512)
    for i in range(3):  # one at a time: memcached stalls what follows a large set (see below)
        c.send(b"set p%d 0 0 %d\r\n%s\r\n" % (i, len(value), value))
        assert c.read_line() == b"STORED\r\n"
    c.send(b"mn\r\nms meta 2 T0\r\nhi\r\nmg meta v\r\nversion\r\n")
    assert c.read_line() == b"MN\r\n"
    assert c.read_line() == b"HD\r\n"
    assert c.read_line() == b"VA 2\r\n"
    assert c.read_line() == b"hi\r\n"
    assert c.read_line() == VERSION_LINE
    c.send(b"get p0 p1 p2\r\n")
    for i in range(3):
        assert c.read_line() == b"VALUE p%d 0 %d\r\n" % (i, len(value))
        assert c.read_exactly(len(value) + 2) == value + b"\r\n"
    assert c.read_line() == b"END\r\n"
    c.close()


@memcached_only_difference("memcached stalls a command pipelined after a TLS set over ~16 KB")
def test_command_pipelined_after_large_tls_set_is_answered(tls_server, certs):
    c = tls_connect(tls_server, certs.client_context())
    value = b"x" * 40000
    c.send(b"set big40k 0 0 %d\r\n%s\r\nget nothing-here\r\nversion\r\n" % (len(value), value))
    assert c.read_until(VERSION_LINE) == b"STORED\r\nEND\r\n" + VERSION_LINE
    c.close()


def test_binary_protocol_over_tls(tls_server, certs):
    c = tls_connect(tls_server, certs.client_context(), cls=BinConn)
    r = c.set(b"bin:tls", b"z" * 100000, flags=7)
    assert r.status == SUCCESS
    c.send(request(GETK, b"bin:tls") + request(VERSION) + request(NOOP))
    r = c.read_response()
    assert (r.status, r.key, r.value) == (SUCCESS, b"bin:tls", b"z" * 100000)
    assert c.read_response().value == b"1.6.18"
    assert c.read_response().opcode == NOOP
    c.close()


def test_bmemcached_over_tls(tls_server, certs):
    c = bmemcached.Client([f"127.0.0.1:{tls_server.port}"], tls_context=certs.client_context())
    assert c.set("bm:tls", "value")
    assert c.get("bm:tls") == "value"
    c.set_multi({"bm:a": "1", "bm:b": "2"})
    assert c.get_multi(["bm:a", "bm:b"]) == {"bm:a": "1", "bm:b": "2"}
    c.disconnect_all()


def test_openssl_s_client(tls_server, certs):
    r = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{tls_server.port}", "-CAfile",
         certs.path("ca.crt"), "-verify_return_error", "-quiet"],
        input=b"set sc 0 0 2\r\nok\r\nget sc\r\nquit\r\n", stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, timeout=20)
    assert r.stdout == b"STORED\r\nVALUE sc 0 2\r\nok\r\nEND\r\n", r.stderr


def test_renegotiation_is_refused(tls_server, certs):
    # Interactive s_client: a line "R" asks for a renegotiation (TLS 1.2). The server answers
    # it with a no_renegotiation alert, which s_client takes as the end of the session.
    p = subprocess.Popen(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{tls_server.port}", "-tls1_2",
         "-CAfile", certs.path("ca.crt")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        p.stdin.write(b"version\r\n")
        p.stdin.flush()
        while p.stdout.readline() != VERSION_LINE:
            assert p.poll() is None, "s_client ended before the first reply"
        p.stdin.write(b"R\n")
        p.stdin.flush()
        out, _ = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert b"RENEGOTIATING" in out
    assert b"no renegotiation" in out
    assert p.returncode != 0


@pytest.mark.parametrize("version", [TLS12, TLS13])
def test_both_tls_versions_work(tls_server, certs, version):
    c = tls_connect(tls_server, certs.client_context(version=version))
    assert c.sock.version() == {TLS12: "TLSv1.2", TLS13: "TLSv1.3"}[version]
    assert c.call(b"version\r\n") == VERSION_LINE
    c.close()


def test_min_version_tls13_refuses_tls12(server_factory, certs):
    s = start_tls(server_factory, certs, opts=["ssl_min_version=3"])
    with pytest.raises(ssl.SSLError):
        tls_connect(s, certs.client_context(version=TLS12))
    c = tls_connect(s, certs.client_context(version=TLS13))
    assert c.call(b"version\r\n") == VERSION_LINE
    c.close()


def test_default_min_version_refuses_tls11(tls_server, certs):
    ctx = certs.client_context()
    ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    with pytest.raises(ssl.SSLError):
        tls_connect(tls_server, ctx)


def test_cipher_list_is_applied(server_factory, certs):
    s = start_tls(server_factory, certs, opts=["ssl_ciphers=ECDHE-ECDSA-AES128-GCM-SHA256"])
    c = tls_connect(s, certs.client_context(version=TLS12))
    assert c.sock.cipher()[0] == "ECDHE-ECDSA-AES128-GCM-SHA256"
    c.close()


def test_combined_chain_and_key_file(server_factory, certs):
    pem = certs.path("combined.pem")
    s = server_factory("-Z", "-o", f"ssl_chain_cert={pem},ssl_key={pem}")
    c = tls_connect(s, certs.client_context())
    assert c.call(b"version\r\n") == VERSION_LINE
    c.close()


def test_udp_stays_plaintext(server_factory, certs):
    port = free_port()
    s = start_tls(server_factory, certs, "-U", str(port), "-p", str(port))
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(5)
    u.sendto(b"\x00\x01\x00\x00\x00\x01\x00\x00version\r\n", ("127.0.0.1", port))
    data, _ = u.recvfrom(2048)
    assert data == b"\x00\x01\x00\x00\x00\x01\x00\x00" + VERSION_LINE
    u.close()
    c = tls_connect(s, certs.client_context())
    assert c.call(b"version\r\n") == VERSION_LINE
    c.close()


# --- client certificates (ssl_verify_mode) -----------------------------------------------------

@pytest.fixture(scope="module")
def mtls_servers(module_server_factory, certs):
    ca = f"ssl_ca_cert={certs.path('ca.crt')}"
    return {mode: start_tls(module_server_factory, certs, opts=[ca, f"ssl_verify_mode={mode}"])
            for mode in (1, 2, 3)}


def _refused(server, ctx):
    """True when the server refuses the client: the handshake fails (TLS 1.2), or, since a
    TLS 1.3 client finishes before the server checks its certificate, the first read does."""
    try:
        c = tls_connect(server, ctx)
    except (ssl.SSLError, ConnectionResetError):
        return True
    try:
        c.send(b"version\r\n")
        return closed_without_reply(c)
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        return True
    finally:
        c.close()


@pytest.mark.parametrize("mode", [1, 2, 3])
@pytest.mark.parametrize("version", [TLS12, TLS13])
def test_mtls_with_trusted_client_certificate(mtls_servers, certs, mode, version):
    c = tls_connect(mtls_servers[mode], certs.client_context(cert="client", version=version))
    assert c.call(b"version\r\n") == VERSION_LINE
    c.close()
    pc = Client(mtls_servers[mode].address, tls_context=certs.client_context(cert="client"))
    pc.set("mtls", b"ok", noreply=False)
    assert pc.get("mtls") == b"ok"
    pc.close()


@pytest.mark.parametrize("mode, refused", [(1, False), (2, True), (3, True)])
@pytest.mark.parametrize("version", [TLS12, TLS13])
def test_client_without_certificate(mtls_servers, certs, mode, refused, version):
    assert _refused(mtls_servers[mode], certs.client_context(version=version)) == refused


@pytest.mark.parametrize("mode", [1, 2, 3])
@pytest.mark.parametrize("version", [TLS12, TLS13])
def test_untrusted_client_certificate_is_refused(mtls_servers, certs, mode, version):
    ctx = certs.client_context(cert="rogue_client", version=version)
    assert _refused(mtls_servers[mode], ctx)


@memcached_only_difference("memcached counts only handshakes that fail at accept time")
def test_tls12_handshake_refusal_counts_in_stats(mtls_servers, certs):
    s = mtls_servers[2]
    before = int(stats(tls_connect(s, certs.client_context(cert="client")))
                 ["ssl_handshake_errors"])
    with pytest.raises(ssl.SSLError):
        tls_connect(s, certs.client_context(version=TLS12))
    c = tls_connect(s, certs.client_context(cert="client"))
    wait_until(lambda: int(stats(c)["ssl_handshake_errors"]) > before, what="the count")
    c.close()


# --- stats ---------------------------------------------------------------------------------------

def _keys_after(st, key, n):
    keys = list(st)
    i = keys.index(key)
    return keys[i + 1:i + 1 + n]


def test_stats_keys_with_tls(tls_server, certs):
    st = stats(tls_connect(tls_server, certs.client_context()))
    assert _keys_after(st, "log_watchers", 3) == [
        "ssl_handshake_errors", "time_since_server_cert_refresh", "unexpected_napi_ids"]
    assert int(st["time_since_server_cert_refresh"]) >= 0


def test_stats_keys_with_session_cache(server_factory, certs):
    s = start_tls(server_factory, certs, opts=["ssl_session_cache"])
    ctx = certs.client_context(version=TLS13)
    first = tls_connect(s, ctx)
    assert first.call(b"version\r\n") == VERSION_LINE
    session = first.sock.session  # after a read: TLS 1.3 tickets follow the handshake
    first.close()
    # The client resumes its session. (OpenSSL calls the new-session hook memcached counts for
    # each TLS 1.3 ticket it sends, two per full handshake, and never for TLS 1.2 tickets.)
    raw = socket.create_connection(s.address, timeout=5)
    resumed = ctx.wrap_socket(raw, server_hostname="127.0.0.1", session=session)
    assert resumed.session_reused
    resumed.close()
    c = tls_connect(s, ctx)
    st = stats(c)
    assert _keys_after(st, "log_watchers", 3) == [
        "ssl_new_sessions", "ssl_handshake_errors", "time_since_server_cert_refresh"]
    assert int(st["ssl_new_sessions"]) >= 2
    c.close()


def test_stats_without_tls_have_no_ssl_keys(server_factory):
    st = stats(Conn(server_factory()))
    assert not [k for k in st if k.startswith("ssl_") or k.startswith("time_since_server")]


SSL_SETTINGS = ["ssl_enabled", "ssl_chain_cert", "ssl_key", "ssl_verify_mode", "ssl_keyformat",
                "ssl_ciphers", "ssl_ca_cert", "ssl_wbuf_size", "ssl_session_cache",
                "ssl_kernel_tls", "ssl_min_version"]


def test_stats_settings_without_tls(server_factory):
    st = stats(Conn(server_factory()), b"settings")
    assert _keys_after(st, "ext_drop_unread", len(SSL_SETTINGS)) == SSL_SETTINGS
    assert [st[k] for k in SSL_SETTINGS] == [
        "no", "(null)", "(null)", "0", "1", "NULL", "NULL", "16384", "no", "no", "tlsv1.2"]


@pytest.mark.parametrize("mode, shown", [(0, "0"), (1, "1"), (2, "3"), (3, "7")])
def test_stats_settings_with_tls(server_factory, certs, mode, shown):
    ca = certs.path("ca.crt")
    s = start_tls(server_factory, certs, opts=[
        f"ssl_verify_mode={mode}", f"ssl_ca_cert={ca}", "ssl_ciphers=HIGH", "ssl_wbuf_size=32",
        "ssl_session_cache", "ssl_min_version=3", "ssl_keyformat=1"])
    c = tls_connect(s, certs.client_context(cert="client"))
    st = stats(c, b"settings")
    assert [st[k] for k in SSL_SETTINGS] == [
        "yes", certs.path("server.crt"), certs.path("server.key"), shown, "1", "HIGH", ca,
        "32768", "yes", "no", "tlsv1.3"]
    c.close()

# --- refresh_certs -------------------------------------------------------------------------------

def _peer_cn(conn):
    cert = conn.sock.getpeercert()
    return dict(x[0] for x in cert["subject"])["commonName"]


@pytest.fixture
def reloadable(server_factory, certs):
    """A -Z server whose cert and key files are private copies the test may rewrite. Returns
    (server, directory)."""
    d = certs.private_copy("server.crt", "server.key")
    s = server_factory("-Z", "-o", f"ssl_chain_cert={d}/server.crt,ssl_key={d}/server.key",
                       "-l", f"notls:127.0.0.1:{free_port()}")
    from tls_helpers import listening_ports
    ports = listening_ports(s)
    s.port, s.plain_port = ports[0], ports[1]
    return s, d


def _plain(server):
    c = Conn(server)
    c.sock.close()
    c.sock = socket.create_connection(("127.0.0.1", server.plain_port), timeout=5)
    return c


def test_refresh_certs_replies(reloadable):
    s, _ = reloadable
    c = _plain(s)
    # Extra arguments are ignored; noreply silences the OK.
    c.send(b"refresh_certs\r\nrefresh_certs noreply\r\nrefresh_certs a b c\r\nversion\r\n")
    assert c.read_until(VERSION_LINE) == b"OK\r\nOK\r\n" + VERSION_LINE


def test_refresh_certs_without_tls(server_factory):
    c = Conn(server_factory())
    assert c.call(b"refresh_certs\r\n") == b"Error TLS not enabled\r\n"
    assert c.call(b"refresh_certs noreply\r\n") == b"Error TLS not enabled\r\n"


def test_refresh_certs_loads_new_certificate(reloadable, certs):
    s, d = reloadable
    ctx = certs.client_context()
    old = tls_connect(s, ctx)
    assert _peer_cn(old) == "localhost"
    shutil.copy(certs.path("server2.crt"), os.path.join(d, "server.crt"))
    shutil.copy(certs.path("server2.key"), os.path.join(d, "server.key"))
    assert old.call(b"refresh_certs\r\n") == b"OK\r\n"
    new = tls_connect(s, ctx)
    assert _peer_cn(new) == "localhost-two"
    # The open connection keeps working on its session.
    assert old.call(b"version\r\n") == VERSION_LINE
    assert new.call(b"version\r\n") == VERSION_LINE
    st = stats(new)
    assert int(st["time_since_server_cert_refresh"]) <= int(st["uptime"])
    old.close()
    new.close()


def test_refresh_certs_with_missing_file_keeps_old_certificate(reloadable, certs):
    s, d = reloadable
    os.remove(os.path.join(d, "server.crt"))
    c = _plain(s)
    expected = (b"Error loading the certificate chain: %s/server.crt : "
                b"error:80000002:system library::No such file or directory\r\n" % d.encode())
    assert c.call(b"refresh_certs\r\n") == expected
    assert c.call(b"refresh_certs noreply\r\n") == expected  # errors are never silenced
    t = tls_connect(s, certs.client_context())
    assert _peer_cn(t) == "localhost"
    assert t.call(b"version\r\n") == VERSION_LINE
    t.close()


def test_refresh_certs_with_bad_key_file(reloadable, certs):
    s, d = reloadable
    with open(os.path.join(d, "server.key"), "w") as f:
        f.write("not a key\n")
    c = _plain(s)
    reply = c.call(b"refresh_certs\r\n")
    assert reply.startswith(b"Error loading the key: %s/server.key : error:" % d.encode())
    assert reply.endswith(b"\r\n")


def test_refresh_certs_with_mismatched_key_is_refused(reloadable, certs):
    s, d = reloadable
    shutil.copy(certs.path("server2.crt"), os.path.join(d, "server.crt"))  # key left as it was
    c = _plain(s)
    assert c.call(b"refresh_certs\r\n") == (
        b"Error loading the key: %s/server.key : "
        b"error:05800074:x509 certificate routines::key values mismatch\r\n" % d.encode())


@memcached_only_difference("memcached keeps the new certificate without its key: handshakes fail")
def test_mismatched_refresh_keeps_old_pair_serving(reloadable, certs):
    s, d = reloadable
    shutil.copy(certs.path("server2.crt"), os.path.join(d, "server.crt"))
    c = _plain(s)
    assert c.call(b"refresh_certs\r\n").startswith(b"Error loading the key: ")
    t = tls_connect(s, certs.client_context())
    assert _peer_cn(t) == "localhost"
    assert t.call(b"version\r\n") == VERSION_LINE
    t.close()


@not_in_cachet("memcached loads the new certificate and clears the key: new handshakes fail")
def test_memcached_mismatched_refresh_breaks_handshakes(reloadable, certs):
    s, d = reloadable
    shutil.copy(certs.path("server2.crt"), os.path.join(d, "server.crt"))
    c = _plain(s)
    assert c.call(b"refresh_certs\r\n").startswith(b"Error loading the key: ")
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        tls_connect(s, certs.client_context())


@memcached_only_difference("memcached does not reload certificates on SIGHUP")
def test_sighup_reloads_certificates(reloadable, certs):
    s, d = reloadable
    shutil.copy(certs.path("server2.crt"), os.path.join(d, "server.crt"))
    shutil.copy(certs.path("server2.key"), os.path.join(d, "server.key"))
    s.proc.send_signal(signal.SIGHUP)

    def reloaded():
        t = tls_connect(s, certs.client_context())
        try:
            return _peer_cn(t) == "localhost-two"
        finally:
            t.close()
    wait_until(reloaded, what="the new certificate")
    assert s.proc.poll() is None


@memcached_only_difference("memcached does not reload certificates on SIGHUP")
def test_sighup_with_bad_files_keeps_serving(reloadable, certs):
    s, d = reloadable
    os.remove(os.path.join(d, "server.key"))
    s.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "Error loading the key" in s.output(), what="the reload error")
    t = tls_connect(s, certs.client_context())
    assert _peer_cn(t) == "localhost"
    assert t.call(b"version\r\n") == VERSION_LINE
    t.close()


def test_watch_over_tls(tls_server, certs):
    # The watch log takes the connection over with its TLS session and writes through it.
    w = tls_connect(tls_server, certs.client_context())
    assert w.call(b"watch fetchers\r\n") == b"OK\r\n"
    c = tls_connect(tls_server, certs.client_context())
    assert c.call(b"get watched-over-tls\r\n") == b"END\r\n"
    line = w.read_until(b"\n")
    assert line.startswith(b"ts=") and b"key=watched-over-tls" in line
    c.close()
    w.close()
