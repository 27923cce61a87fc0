"""Clients that send too much: the server's memory stays bounded and other clients are served."""
import socket

from conftest import Conn, memcached_only_difference


@memcached_only_difference("memcached buffers a multiget line of any length")
def test_endless_multiget_line_is_cut_off(server):
    c = Conn(server)
    rss_before = server.rss_kib()
    chunk = b" k" * 32768
    c.send(b"get")
    closed = False
    try:
        for _ in range(200):  # up to 12.8 MB, far past the 2 MiB line limit
            c.send(chunk)
    except (BrokenPipeError, ConnectionResetError):
        closed = True
    assert closed or c.is_closed()
    assert server.rss_kib() - rss_before < 16 * 1024
    other = Conn(server)
    assert other.call(b"version\r\n") == b"VERSION 1.6.18\r\n"
    other.close()


def test_huge_declared_length_is_discarded_not_buffered(server):
    c = Conn(server)
    rss_before = server.rss_kib()
    total = 64 * 1024 * 1024
    c.send(b"set big 0 0 %d\r\n" % total)
    block = b"x" * (1 << 20)
    for _ in range(total // len(block)):
        c.send(block)
    c.send(b"\r\nversion\r\n")
    assert c.read_line() == b"SERVER_ERROR object too large for cache\r\n"
    assert c.read_line() == b"VERSION 1.6.18\r\n"
    assert server.rss_kib() - rss_before < 16 * 1024
    c.close()


def test_binary_garbage_gets_errors_and_the_connection_survives(server):
    c = Conn(server)
    c.send(bytes(range(1, 256)).replace(b"\n", b"") + b"\r\n")
    assert c.read_line() == b"ERROR\r\n"
    assert c.call(b"version\r\n") == b"VERSION 1.6.18\r\n"
    c.close()


def test_abrupt_disconnect_mid_value_leaves_server_healthy(server):
    s = server.raw()
    s.sendall(b"set k 0 0 100000\r\n" + b"x" * 5000)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()  # RST
    c = Conn(server)
    assert c.call(b"get k\r\n") == b"END\r\n"
    c.close()


def test_quit_after_a_large_multiget_still_delivers_every_reply(server):
    c = Conn(server)
    value = b"v" * 1000000
    assert c.call(b"set big 0 0 %d\r\n%s\r\n" % (len(value), value)) == b"STORED\r\n"
    c.close()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the reply cannot fit in flight
    s.settimeout(10)
    s.connect(server.address)
    s.sendall(b"get big big big big\r\nquit\r\n")
    data = b""
    while True:
        chunk = s.recv(1 << 16)
        if not chunk:
            break
        data += chunk
    s.close()
    assert data.count(b"VALUE big 0 1000000\r\n") == 4
    assert data.endswith(b"\r\nEND\r\n")
    assert len(data) == 4 * (len(b"VALUE big 0 1000000\r\n") + len(value) + 2) + 5


def test_disabled_evictions_reuse_the_space_of_replaced_and_flushed_items(server_factory):
    s = server_factory("-m", "8", "-M")
    c = Conn(s)
    value = b"x" * 100000
    for _ in range(300):  # 30 MB of versions of one key into 8 MB
        assert c.call(b"set k 0 0 %d\r\n%s\r\n" % (len(value), value)) == b"STORED\r\n"
    for i in range(200):
        if c.call(b"set n%d 0 0 %d\r\n%s\r\n" % (i, len(value), value)) != b"STORED\r\n":
            break
    assert c.call(b"flush_all\r\n") == b"OK\r\n"
    for i in range(40):
        assert c.call(b"set m%d 0 0 %d\r\n%s\r\n" % (i, len(value), value)) == b"STORED\r\n"
    c.close()
