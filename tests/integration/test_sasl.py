"""SASL (-S) as Debian's memcached 1.6.18 does it, over Cyrus SASL with a sasldb made by
`saslpasswd2 -a memcached` for the run: start-up errors, what is served before authentication,
PLAIN and CRAM-MD5, status codes, stats, and Debian's clients (bmemcached, pylibmc binary,
memcstat, bmemcached over TLS). Every test also passes against /usr/bin/memcached.
"""
import os
import shutil
import subprocess

import bmemcached
import pylibmc
import pytest

from binary_helpers import (AUTH_ERROR, EINVAL, GET, NOOP, QUIT, SASL_AUTH, SASL_LIST_MECHS,
                            SASL_STEP, SET, STAT, SUCCESS, VERSION, BinConn, error, request,
                            storage_extras)
from conftest import CACHET_BIN, Conn
from sasl_helpers import PASSWORD, USER, SaslDb, cram_md5_answer, plain
from tls_helpers import closed_without_reply, start_tls, tls_connect

AUTH_CONTINUE = 0x21
ROOT_ARGS = ["-u", "root"] if os.geteuid() == 0 else []


@pytest.fixture(scope="module")
def sasldb():
    db = SaslDb()
    yield db
    db.cleanup()


@pytest.fixture(scope="module")
def sasl_server(module_server_factory, sasldb):
    return module_server_factory("-S", env=sasldb.env)


def run(*args, env=None):
    full = dict(os.environ)
    full.pop("SASL_CONF_PATH", None)
    full.update(env or {})
    return subprocess.run([CACHET_BIN, *ROOT_ARGS, "-l", "127.0.0.1", *args],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full, timeout=10)


def authenticated(server, mechanism=b"PLAIN", data=None):
    c = BinConn(server)
    r = c.call(SASL_AUTH, mechanism, data if data is not None else plain())
    assert (r.status, r.value) == (SUCCESS, b"Authenticated")
    return c


def stat(conn, name, group=b""):
    return conn.stats(group)[name]


# --- start-up ------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["-B", "ascii"], b"ERROR: You cannot allow the ASCII protocol while using SASL.\n"),
    (["-B", "auto"], b"ERROR: You cannot allow the ASCII protocol while using SASL.\n"),
    (["-U", "22199"], b"ERROR: Cannot enable UDP while using binary SASL authentication.\n"),
])
def test_refused_combinations_exit_64(sasldb, args, message):
    r = run("-S", *args, env=sasldb.env)
    assert (r.returncode, r.stderr) == (64, message)


@pytest.mark.skipif(os.path.exists("/etc/sasl/memcached.conf") or
                    os.path.exists("/etc/sasl2/memcached.conf"),
                    reason="this machine has a system-wide SASL configuration for memcached")
def test_no_sasl_configuration_exits_1():
    r = run("-S")
    assert (r.returncode, r.stderr) == (1, b"Error initializing sasl.\n")


# --- before authentication -------------------------------------------------------------------------

def test_version_and_mechanisms_before_auth(sasl_server):
    c = BinConn(sasl_server)
    assert c.call(VERSION).value == b"1.6.18"
    r = c.call(SASL_LIST_MECHS)
    assert (r.status, r.key, r.extras, r.value) == (SUCCESS, b"", b"", b"PLAIN CRAM-MD5")


@pytest.mark.parametrize("opcode, body", [
    (NOOP, {}), (QUIT, {}), (STAT, {}), (GET, {"key": b"k"}),
    (SET, {"key": b"k", "value": b"v", "extras": storage_extras()}),
    (0x08, {}),  # FLUSH
])
def test_other_commands_before_auth_fail_and_close(sasl_server, opcode, body):
    c = BinConn(sasl_server)
    c.send(request(opcode, **body))
    assert c.read_until_close() == error(opcode, AUTH_ERROR)


def test_ascii_on_sasl_server_is_closed_silently(sasl_server):
    c = Conn(sasl_server)
    c.send(b"get some-key another-key third-key\r\n")  # a full 24-byte header's worth
    assert closed_without_reply(c)


def test_plain_success(sasl_server):
    c = authenticated(sasl_server)
    assert c.set(b"sasl:k", b"value").status == SUCCESS
    assert c.get(b"sasl:k").value == b"value"
    assert c.call(NOOP).status == SUCCESS


@pytest.mark.parametrize("mechanism, data", [
    (b"PLAIN", plain(password="wrong")),
    (b"PLAIN", plain(user="nobody")),
    (b"BOGUS", plain()),
    (b"M" * 32, plain()),  # the longest name memcached passes on to Cyrus
])
def test_failed_auth_keeps_connection_open(sasl_server, mechanism, data):
    c = BinConn(sasl_server)
    r = c.call(SASL_AUTH, mechanism, data)
    assert (r.status, r.value) == (AUTH_ERROR, b"Auth failure.")
    assert c.call(VERSION).value == b"1.6.18"
    r = c.call(SASL_AUTH, b"PLAIN", plain())
    assert (r.status, r.value) == (SUCCESS, b"Authenticated")


def test_mechanism_name_over_32_bytes_is_invalid(sasl_server):
    c = BinConn(sasl_server)
    r = c.call(SASL_AUTH, b"M" * 33, plain())
    assert (r.status, r.value) == (EINVAL, b"Invalid arguments")
    assert c.call(VERSION).value == b"1.6.18"  # the body was skipped; still open


def test_cram_md5(sasl_server):
    c = BinConn(sasl_server)
    r = c.call(SASL_AUTH, b"CRAM-MD5")
    assert r.status == AUTH_CONTINUE
    assert r.value.startswith(b"<") and r.value.endswith(b">")
    r = c.call(SASL_STEP, b"CRAM-MD5", cram_md5_answer(r.value))
    assert (r.status, r.value) == (SUCCESS, b"Authenticated")
    assert c.set(b"cram:k", b"v").status == SUCCESS


def test_cram_md5_wrong_answer(sasl_server):
    c = BinConn(sasl_server)
    r = c.call(SASL_AUTH, b"CRAM-MD5")
    r = c.call(SASL_STEP, b"CRAM-MD5", cram_md5_answer(r.value, password="wrong"))
    assert (r.status, r.value) == (AUTH_ERROR, b"Auth failure.")
    c.send(request(GET, b"k"))
    assert c.read_until_close() == error(GET, AUTH_ERROR)


def test_step_without_start_fails(sasl_server):
    c = BinConn(sasl_server)
    r = c.call(SASL_STEP, b"PLAIN", plain())
    assert (r.status, r.value) == (AUTH_ERROR, b"Auth failure.")


def test_failed_reauth_deauthenticates(sasl_server):
    c = authenticated(sasl_server)
    r = c.call(SASL_AUTH, b"PLAIN", plain(password="wrong"))
    assert r.status == AUTH_ERROR
    c.send(request(GET, b"k"))
    assert c.read_until_close() == error(GET, AUTH_ERROR)


def test_reauth_after_success_fails_and_deauthenticates(sasl_server):
    # Cyrus ends a connection's SASL exchange once it succeeded: a second start fails, even with
    # good credentials, and the connection is no longer authenticated.
    c = authenticated(sasl_server)
    r = c.call(SASL_AUTH, b"PLAIN", plain())
    assert (r.status, r.value) == (AUTH_ERROR, b"Auth failure.")
    c.send(request(GET, b"k"))
    assert c.read_until_close() == error(GET, AUTH_ERROR)


def test_auth_counters_and_settings(server_factory, sasldb):
    s = server_factory("-S", env=sasldb.env)
    bad = BinConn(s)
    assert bad.call(SASL_AUTH, b"PLAIN", plain(password="x")).status == AUTH_ERROR
    assert bad.call(SASL_STEP, b"PLAIN", b"x").status == AUTH_ERROR
    assert bad.call(SASL_AUTH, b"M" * 33, b"").status == EINVAL  # not counted
    cram = BinConn(s)
    assert cram.call(SASL_AUTH, b"CRAM-MD5").status == AUTH_CONTINUE  # not counted
    c = authenticated(s)
    st = c.stats()
    assert (st["auth_cmds"], st["auth_errors"]) == ("3", "2")
    settings = c.stats(b"settings")
    assert settings["auth_enabled_sasl"] == "yes"
    assert settings["auth_enabled_ascii"] == "no"
    assert settings["binding_protocol"] == "binary"


def test_without_sasl_the_opcodes_are_unknown(server_factory):
    c = BinConn(server_factory())
    r = c.call(SASL_LIST_MECHS)
    assert (r.status, r.value) == (0x81, b"Unknown command")
    assert BinConn(server_factory()).stats(b"settings")["auth_enabled_sasl"] == "no"


# --- Debian's clients ------------------------------------------------------------------------------

def test_bmemcached_plain(sasl_server):
    c = bmemcached.Client([f"127.0.0.1:{sasl_server.port}"], USER, PASSWORD)
    assert c.set("bm:sasl", "hello")
    assert c.get("bm:sasl") == "hello"
    c.disconnect_all()


def test_bmemcached_wrong_password(sasl_server):
    c = bmemcached.Client([f"127.0.0.1:{sasl_server.port}"], USER, "wrong")
    with pytest.raises(bmemcached.exceptions.MemcachedException):
        c.set("bm:nope", "x")
    c.disconnect_all()


def test_pylibmc_binary_with_credentials(sasl_server):
    c = pylibmc.Client([f"127.0.0.1:{sasl_server.port}"], binary=True, username=USER,
                       password=PASSWORD)
    c.set("pylibmc:sasl", b"v" * 1000)
    assert c.get("pylibmc:sasl") == b"v" * 1000
    assert c.get_multi(["pylibmc:sasl", "missing"]) == {"pylibmc:sasl": b"v" * 1000}


def test_memcstat_binary_with_credentials(sasl_server):
    r = subprocess.run(["memcstat", f"--servers=127.0.0.1:{sasl_server.port}", "-b", "-u", USER,
                        "-p", PASSWORD], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=20)
    assert r.returncode == 0, r.stderr
    assert b"auth_cmds:" in r.stdout and b"version: 1.6.18" in r.stdout


PHP_CLIENT = r"""<?php
$m = new Memcached();
$m->setOption(Memcached::OPT_BINARY_PROTOCOL, true);
$m->addServer('127.0.0.1', (int)$argv[1]);
$m->setSaslAuthData($argv[2], $argv[3]);
if (!$m->set('php:k', 'php value')) { echo 'set: ', $m->getResultMessage(), "\n"; exit(1); }
echo $m->get('php:k'), "\n";
"""


@pytest.mark.skipif(shutil.which("php") is None, reason="php-cli not installed")
@pytest.mark.parametrize("password, output", [
    (PASSWORD, b"php value\n"), ("wrong", b"set: AUTHENTICATION FAILURE\n")])
def test_php_memcached_sasl(sasl_server, tmp_path, password, output):
    script = tmp_path / "client.php"
    script.write_text(PHP_CLIENT)
    r = subprocess.run(["php", "-d", "memcached.use_sasl=1", str(script), str(sasl_server.port),
                        USER, password], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=20)
    assert r.stdout == output, r.stderr


def test_sasl_over_tls(server_factory, certs, sasldb):
    s = start_tls(server_factory, certs, "-S", env=sasldb.env)
    c = bmemcached.Client([f"127.0.0.1:{s.port}"], USER, PASSWORD,
                          tls_context=certs.client_context())
    assert c.set("tls:sasl", "secret value")
    assert c.get("tls:sasl") == "secret value"
    c.disconnect_all()
    raw = tls_connect(s, certs.client_context(), cls=BinConn)
    raw.send(request(GET, b"tls:sasl"))
    assert raw.read_until_close() == error(GET, AUTH_ERROR)
