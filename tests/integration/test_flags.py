"""Command-line behaviour: flags memcached accepts, how bad ones fail, listeners and sockets."""
import os
import socket
import stat
import subprocess

import pytest

from conftest import CACHET_BIN, Conn


def run(*args):
    user = ["-u", "root"] if os.geteuid() == 0 else []
    return subprocess.run([CACHET_BIN, *user, *args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=10)


def test_help_and_version_exit_zero():
    h = run("-h")
    assert h.returncode == 0
    assert b"-m, --memory-limit" in h.stdout
    v = run("-V")
    assert v.returncode == 0
    assert b"1.6.18" in v.stdout


def test_unknown_flag_fails_like_memcached():
    r = run("-x")
    assert r.returncode != 0
    assert b"invalid option -- 'x'" in r.stderr
    assert b'Illegal argument "?"' in r.stderr


@pytest.mark.parametrize("args, message, code", [
    (["-I", "512"], b"Item max size cannot be less than 1024 bytes.", 64),
    (["-m", "64", "-I", "64m"], b"Cannot set item size limit higher than 1/2 of memory max.", 64),
    (["-t", "0"], b"Number of threads must be greater than 0", 1),
    (["-o", "bogus_option"], b'Illegal suboption "bogus_option"', 1),
])
def test_bad_values_fail_with_memcacheds_message(args, message, code):
    r = run(*args)
    assert r.returncode == code, r.stderr
    assert message in r.stderr


def test_refuses_to_run_as_root_without_user():
    if os.geteuid() != 0:
        pytest.skip("needs root")
    r = subprocess.run([CACHET_BIN, "-p", "-1"], stderr=subprocess.PIPE, timeout=10)
    assert r.returncode != 0
    assert b"can't run as root without the -u switch" in r.stderr


def test_deployment_options_are_accepted(server_factory):
    # What Debian's /etc/memcached.conf and common deployments pass.
    s = server_factory("-m", "32", "-c", "100", "-t", "2", "-I", "2m", "-b", "128",
                       "-o", "slab_reassign,slab_automove,lru_crawler,lru_maintainer,modern",
                       "-o", "slab_chunk_max=512,idle_timeout=0,no_lru_crawler")
    c = Conn(s)
    assert c.call(b"version\r\n") == b"VERSION 1.6.18\r\n"
    c.close()


def test_listens_on_several_addresses(server_factory):
    s = server_factory("-l", "127.0.0.2")  # added after the fixture's -l 127.0.0.1
    ports = []
    with open(os.path.join(s.tmpdir, "ports")) as f:
        ports = [int(line.split(":")[1]) for line in f if line.startswith("TCP INET:")]
    assert len(ports) == 2
    for host, port in zip(("127.0.0.1", "127.0.0.2"), ports):
        conn = socket.create_connection((host, port), timeout=5)
        conn.sendall(b"version\r\n")
        assert conn.recv(100) == b"VERSION 1.6.18\r\n"
        conn.close()


def test_unix_socket_mask(server_factory):
    s = server_factory("-a", "0770", unix=True)
    mode = stat.S_IMODE(os.stat(s.socket_path).st_mode)
    assert mode == 0o770
    c = Conn(s)
    assert c.call(b"set a 0 0 1\r\nx\r\nget a\r\n", b"END\r\n") == \
        b"STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n"
    c.close()


def test_port_zero_disables_tcp_with_unix_socket(server_factory):
    s = server_factory("-p", "0", unix=True)
    assert s.port is None
    c = Conn(s)
    assert c.call(b"version\r\n") == b"VERSION 1.6.18\r\n"
    c.close()


NOOP = bytes([0x80, 0x0a]) + bytes(22)


def test_protocol_ascii_refuses_binary(server_factory):
    s = server_factory("-B", "ascii")
    c = Conn(s)
    # 0x0a is the NOOP opcode and also a newline: the text parser sees the line "\x80".
    assert c.call(NOOP) == b"ERROR\r\n"
    c.close()


def test_protocol_binary_refuses_text(server_factory):
    s = server_factory("-B", "binary")
    c = Conn(s)
    c.send(b"version\r\n" + bytes(16))
    assert c.is_closed()
    b = Conn(s)
    b.send(NOOP)
    assert b.read_exactly(24)[:2] == bytes([0x81, 0x0a])
    b.close()


def test_protocol_bad_value_fails():
    r = run("-B", "klingon")
    assert r.returncode == 64
    assert b"Invalid value for binding protocol: klingon" in r.stderr
