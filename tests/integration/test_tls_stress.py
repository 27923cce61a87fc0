"""TLS under connection churn: 200 concurrent clients doing handshakes, large values, and
closes at every point of the handshake. The server must stay up, answer everyone who finishes
a handshake, and free every connection (curr_connections returns to its start). Run under
`make asan` / `make tsan` (CACHET_BIN=build-asan/cachet ...) it must also end with no
sanitizer report and no leak: the fixtures fail the test on any report in the server's log.
"""
import os
import random
import socket
import ssl
import threading
import time

from text_helpers import stats
from tls_helpers import start_tls, tls_connect

CLIENTS = 200
ROUNDS = 4


def _client_hello(ctx):
    """The first flight of a real TLS client, made in memory."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def _abandon(server, hello, how):
    """A client that leaves during the handshake: after part of its hello, after all of it, or
    after reading some of the server's reply; or one that speaks plaintext."""
    s = socket.create_connection(server.address, timeout=10)
    try:
        if how == "partial":
            s.sendall(hello[:len(hello) // 2])
        elif how == "hello":
            s.sendall(hello)
        elif how == "reply":
            s.sendall(hello)
            s.recv(100)
        elif how == "plaintext":
            s.sendall(b"get key\r\n")
        elif how == "reset":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    finally:
        s.close()


def test_tls_churn_with_large_values(server_factory, certs):
    server = start_tls(server_factory, certs, "-t", "4", "-c", "4096", "-m", "256")
    ctx = certs.client_context()
    hello = _client_hello(certs.client_context())
    big = os.urandom(300 * 1024)
    errors = []

    def client(n):
        rnd = random.Random(n)
        try:
            for r in range(ROUNDS):
                how = rnd.choice(["full", "full", "partial", "hello", "reply", "plaintext",
                                  "reset"])
                if how != "full":
                    _abandon(server, hello, how)
                    continue
                c = tls_connect(server, ctx, timeout=60)
                key = b"churn:%d:%d" % (n, r)
                value = big if rnd.random() < 0.3 else big[:rnd.randrange(1, 20000)]
                # Not pipelined: memcached stalls a command sent after a large set (test_tls).
                c.send(b"set %s 0 0 %d\r\n%s\r\n" % (key, len(value), value))
                assert c.read_line() == b"STORED\r\n"
                c.send(b"get %s\r\n" % key)
                assert c.read_line() == b"VALUE %s 0 %d\r\n" % (key, len(value))
                assert c.read_exactly(len(value) + 2) == value + b"\r\n"
                assert c.read_line() == b"END\r\n"
                if rnd.random() < 0.5:
                    c.sock.unwrap()  # a clean close_notify; otherwise just drop the socket
                c.close()
        except Exception as e:  # noqa: BLE001 - reported below with the client's number
            errors.append(f"client {n}: {e!r}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:5]

    # Every abandoned and finished connection was freed: only ours is left.
    check = tls_connect(server, ctx, timeout=30)
    deadline = time.monotonic() + 30
    while int(stats(check)["curr_connections"]) != 1:
        assert time.monotonic() < deadline, stats(check)["curr_connections"]
        time.sleep(0.02)  # polling the server's count of closes it has yet to process
    assert int(stats(check)["ssl_handshake_errors"]) > 0
    check.close()
    assert server.proc.poll() is None
