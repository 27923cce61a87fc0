"""UDP (`-U <port>`), as memcached 1.6.18 does it.

Every datagram starts with an 8-byte frame header of four big-endian 16-bit fields: request id,
sequence number, total datagrams, reserved (0). The server copies the request id into every
reply datagram. Each *response* (one per hit of a multi-key get, one per command otherwise) is
sent as its own series of datagrams, numbered from sequence 0 with its own total; a series is
cut into datagrams of at most 1400 bytes (8 header + 1392 payload). A request must fit one
datagram: a header saying total != 1 is dropped without a reply.

The server under test may answer a datagram from any of its worker threads, so each test keeps
one request outstanding at a time and matches replies by request id; "no reply" is shown by
sending a probe request afterwards and getting only the probe's answer.
"""
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time

import pytest

from conftest import CACHET_BIN, Conn, memcached_only_difference

HEADER = struct.Struct("!HHHH")
MAX_DATAGRAM = 1400
MAX_PAYLOAD = MAX_DATAGRAM - HEADER.size  # 1392


def free_udp_port():
    """A port free for UDP and for TCP (-U alone also sets the TCP port, and a UDP port the
    kernel picks may be some connection's local TCP port)."""
    for _ in range(100):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()
    raise RuntimeError("no port free for both UDP and TCP")


@pytest.fixture(scope="module")
def udp_server(module_server_factory):
    port = free_udp_port()
    # One worker: every thread reads the shared UDP socket (as in memcached), so with several a
    # later datagram may be served before an earlier one; tests that probe for "no reply yet"
    # need them served in order.
    s = module_server_factory("-U", str(port), "-t", "1")
    s.udp_port = port
    return s


class Udp:
    """A UDP client that sends framed requests and reads framed replies."""

    def __init__(self, server, timeout=5):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", server.udp_port))
        self.next_probe = 60000

    def send(self, rid, payload, seq=0, total=1, reserved=0):
        self.sock.send(HEADER.pack(rid, seq, total, reserved) + payload)

    def send_raw(self, datagram):
        self.sock.send(datagram)

    def recv(self):
        """One reply datagram as (header tuple, payload, datagram length)."""
        d = self.sock.recv(65536)
        assert len(d) >= HEADER.size, d
        return HEADER.unpack(d[:HEADER.size]), d[HEADER.size:], len(d)

    def response(self, rid):
        """The datagrams of one response series for `rid` (seq 0..total-1), in arrival order."""
        out = []
        while True:
            hdr, payload, size = self.recv()
            assert hdr[0] == rid, f"reply for request {hdr[0]} while waiting for {rid}"
            out.append((hdr, payload, size))
            if len(out) == hdr[2]:
                return out

    def call(self, rid, payload):
        """Sends one request whose reply is a single response and returns its payload bytes."""
        self.send(rid, payload)
        series = self.response(rid)
        assert [h for h, _, _ in series] == [(rid, i, len(series), 0) for i in range(len(series))]
        return b"".join(p for _, p, _ in series)

    def assert_no_reply_before_probe(self):
        """Sends `version` twice under fresh request ids; only their replies may arrive."""
        for _ in range(2):
            rid = self.next_probe
            self.next_probe += 1
            self.send(rid, b"version\r\n")
            hdr, payload, _ = self.recv()
            assert hdr == (rid, 0, 1, 0), (hdr, payload)
            assert payload == b"VERSION 1.6.18\r\n"

    def close(self):
        self.sock.close()


@pytest.fixture
def udp(udp_server):
    u = Udp(udp_server)
    yield u
    u.close()


def test_port_file_lists_tcp_then_udp(udp_server):
    with open(os.path.join(udp_server.tmpdir, "ports")) as f:
        assert f.read() == f"TCP INET: {udp_server.port}\nUDP INET: {udp_server.udp_port}\n"


def test_set_and_get(udp):
    udp.send(7, b"set u1 5 0 3\r\nabc\r\n")
    hdr, payload, _ = udp.recv()
    assert (hdr, payload) == ((7, 0, 1, 0), b"STORED\r\n")
    udp.send(8, b"get u1\r\n")
    hdr, payload, size = udp.recv()
    assert (hdr, payload) == ((8, 0, 1, 0), b"VALUE u1 5 3\r\nabc\r\nEND\r\n")
    assert size == 8 + len(payload)
    assert udp.call(9, b"get u-missing\r\n") == b"END\r\n"
    assert udp.call(10, b"bogus\r\n") == b"ERROR\r\n"


def test_tcp_and_udp_share_the_cache(udp_server, udp):
    c = Conn(udp_server)
    assert c.call(b"set shared 0 0 2\r\nhi\r\n") == b"STORED\r\n"
    c.close()
    assert udp.call(11, b"get shared\r\n") == b"VALUE shared 0 2\r\nhi\r\nEND\r\n"


@pytest.mark.parametrize("rid", [0, 1, 0x1234, 0xFFFF])
def test_request_id_is_echoed(udp, rid):
    assert udp.call(rid, b"version\r\n") == b"VERSION 1.6.18\r\n"


def test_request_sequence_and_reserved_fields_are_ignored(udp):
    udp.send(20, b"version\r\n", seq=5)
    assert udp.recv()[:2] == ((20, 0, 1, 0), b"VERSION 1.6.18\r\n")
    udp.send(21, b"version\r\n", reserved=0xABCD)
    assert udp.recv()[:2] == ((21, 0, 1, 0), b"VERSION 1.6.18\r\n")


def test_noreply_sends_nothing(udp):
    udp.send(30, b"set nr 0 0 1 noreply\r\nx\r\n")
    udp.assert_no_reply_before_probe()
    assert udp.call(31, b"get nr\r\n") == b"VALUE nr 0 1\r\nx\r\nEND\r\n"


def test_each_hit_of_a_multiget_is_its_own_datagram(udp):
    assert udp.call(40, b"set m 0 0 1\r\nx\r\n") == b"STORED\r\n"
    udp.send(41, b"get m m-missing m\r\n")
    # A miss sends nothing; END rides on the last response.
    assert udp.recv()[:2] == ((41, 0, 1, 0), b"VALUE m 0 1\r\nx\r\n")
    assert udp.recv()[:2] == ((41, 0, 1, 0), b"VALUE m 0 1\r\nx\r\nEND\r\n")
    udp.assert_no_reply_before_probe()


def test_several_commands_in_one_datagram_get_one_response_each(udp):
    udp.send(42, b"set two 0 0 1\r\nx\r\nget two\r\nversion\r\n")
    assert udp.recv()[:2] == ((42, 0, 1, 0), b"STORED\r\n")
    assert udp.recv()[:2] == ((42, 0, 1, 0), b"VALUE two 0 1\r\nx\r\nEND\r\n")
    assert udp.recv()[:2] == ((42, 0, 1, 0), b"VERSION 1.6.18\r\n")


def test_big_value_spans_datagrams_of_1400_bytes(udp):
    value = bytes(ord("a") + i % 26 for i in range(3000))
    assert udp.call(50, b"set big 0 0 3000\r\n" + value + b"\r\n") == b"STORED\r\n"
    udp.send(51, b"get big\r\n")
    series = udp.response(51)
    whole = b"VALUE big 0 3000\r\n" + value + b"\r\nEND\r\n"  # 3025 bytes
    assert [h for h, _, _ in series] == [(51, 0, 3, 0), (51, 1, 3, 0), (51, 2, 3, 0)]
    assert [size for _, _, size in series] == [1400, 1400, 8 + 3025 - 2 * MAX_PAYLOAD]
    assert b"".join(p for _, p, _ in series) == whole


def test_big_hit_then_small_hit_are_separate_series(udp):
    value = b"v" * 3000
    assert udp.call(52, b"set big2 0 0 3000\r\n" + value + b"\r\n") == b"STORED\r\n"
    assert udp.call(53, b"set small2 0 0 1\r\nx\r\n") == b"STORED\r\n"
    udp.send(54, b"get big2 small2\r\n")
    big = udp.response(54)
    assert [h for h, _, _ in big] == [(54, 0, 3, 0), (54, 1, 3, 0), (54, 2, 3, 0)]
    # The first hit's series ends with its value's \r\n; END travels with the second hit.
    assert b"".join(p for _, p, _ in big) == b"VALUE big2 0 3000\r\n" + value + b"\r\n"
    assert udp.recv()[:2] == ((54, 0, 1, 0), b"VALUE small2 0 1\r\nx\r\nEND\r\n")


def _value_for_reply_size(key, reply_size):
    """A value whose `get key` reply is exactly reply_size bytes."""
    for n in range(reply_size, 0, -1):
        if len(b"VALUE %s 0 %d\r\n" % (key, n)) + n + len(b"\r\nEND\r\n") == reply_size:
            return b"e" * n
    raise AssertionError("no such size")


@pytest.mark.parametrize("reply_size, sizes", [
    (MAX_PAYLOAD, [1400]),                 # exactly one full datagram
    (MAX_PAYLOAD + 1, [1400, 9]),          # one byte over: a second datagram of 1 payload byte
    (2 * MAX_PAYLOAD, [1400, 1400]),
])
def test_split_boundaries(udp, reply_size, sizes):
    value = _value_for_reply_size(b"edge", reply_size)
    assert udp.call(60, b"set edge 0 0 %d\r\n" % len(value) + value + b"\r\n") == b"STORED\r\n"
    udp.send(61, b"get edge\r\n")
    series = udp.response(61)
    assert [size for _, _, size in series] == sizes
    assert [h for h, _, _ in series] == [(61, i, len(sizes), 0) for i in range(len(sizes))]
    assert b"".join(p for _, p, _ in series) == b"VALUE edge 0 %d\r\n" % len(value) + value + \
        b"\r\nEND\r\n"


def test_stats_reply_spans_datagrams(udp):
    udp.send(70, b"stats\r\n")
    series = udp.response(70)
    total = len(series)
    assert total >= 2
    assert [h for h, _, _ in series] == [(70, i, total, 0) for i in range(total)]
    assert all(size == 1400 for _, _, size in series[:-1])
    text = b"".join(p for _, p, _ in series)
    assert text.startswith(b"STAT pid ") and text.endswith(b"\r\nEND\r\n")


@pytest.mark.parametrize("total", [0, 2, 0x0100])
def test_multi_datagram_request_is_dropped(udp, total):
    udp.send(80, b"version\r\n", total=total)
    udp.assert_no_reply_before_probe()


@pytest.mark.parametrize("datagram", [b"", b"\x00\x51", b"\x00\x51\x00\x00\x00\x01\x00\x00"],
                         ids=["empty", "short", "header-only"])
def test_datagram_without_payload_is_dropped(udp, datagram):
    udp.send_raw(datagram)
    udp.assert_no_reply_before_probe()


def test_unterminated_line_is_discarded_with_its_datagram(udp):
    assert udp.call(90, b"set ut 0 0 1\r\nx\r\n") == b"STORED\r\n"
    udp.send(91, b"get ut")
    udp.assert_no_reply_before_probe()
    assert udp.call(92, b"get ut\r\n") == b"VALUE ut 0 1\r\nx\r\nEND\r\n"


def test_data_block_split_across_datagrams_is_never_stored(udp):
    # memcached reads the next datagram, header included, as the rest of the data block and
    # answers it (under the first request's id) CLIENT_ERROR bad data chunk; what the two
    # datagrams get may differ, but nothing is stored.
    udp.send(93, b"set split 0 0 5\r\nab")
    udp.send(94, b"cde\r\n")
    # memcached may also swallow the datagram after the continuation: ask again until answered.
    udp.sock.settimeout(0.5)
    deadline = time.monotonic() + 10
    rid = 95
    while True:
        udp.send(rid, b"get split\r\n")
        try:
            hdr, payload, _ = udp.recv()
            while hdr[0] in (93, 94) or hdr[0] < rid:  # replies to the split set, old probes
                hdr, payload, _ = udp.recv()
            break
        except socket.timeout:
            assert time.monotonic() < deadline, "no reply to get"
            rid += 1
    assert (hdr, payload) == ((rid, 0, 1, 0), b"END\r\n")


def test_meta_commands(udp):
    assert udp.call(100, b"ms mt 2 T0 F7\r\nhi\r\n") == b"HD\r\n"
    assert udp.call(101, b"mg mt v f\r\n") == b"VA 2 f7\r\nhi\r\n"
    assert udp.call(102, b"mn\r\n") == b"MN\r\n"


def test_binary_protocol(udp):
    # Binary VERSION with opaque 0x01020304: the reply carries the opaque.
    req = struct.pack("!BBHBBHIIQ", 0x80, 0x0B, 0, 0, 0, 0, 0, 0x01020304, 0)
    udp.send(110, req)
    hdr, payload, _ = udp.recv()
    assert hdr == (110, 0, 1, 0)
    assert payload == struct.pack("!BBHBBHIIQ", 0x81, 0x0B, 0, 0, 0, 0, 6, 0x01020304, 0) + \
        b"1.6.18"


# --- how -U combines with -p (servers started here, not by the fixture, which passes -p) ------

def _launch(args):
    """Starts the server with exactly these listener flags; returns (proc, port-file text)."""
    tmp = tempfile.mkdtemp(prefix="cachet-udp-")
    port_file = os.path.join(tmp, "ports")
    env = dict(os.environ, MEMCACHED_PORT_FILENAME=port_file)
    user = ["-u", "root"] if os.geteuid() == 0 else []
    proc = subprocess.Popen([CACHET_BIN, *user, "-l", "127.0.0.1", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while not os.path.exists(port_file):
        if proc.poll() is not None:
            raise AssertionError(f"exited {proc.returncode}: {proc.stderr.read()!r}")
        assert time.monotonic() < deadline, "no port file"
        time.sleep(0.01)  # polling for the port file, not synchronising
    with open(port_file) as f:
        proc.tmpdir = tmp
        return proc, f.read()


def _stop(proc):
    proc.kill()
    proc.wait()
    proc.stderr.close()
    shutil.rmtree(proc.tmpdir, ignore_errors=True)


def test_udp_port_alone_also_sets_the_tcp_port():
    port = free_udp_port()
    proc, ports = _launch(["-U", str(port)])
    try:
        assert ports == f"TCP INET: {port}\nUDP INET: {port}\n"
        c = socket.create_connection(("127.0.0.1", port), timeout=5)
        c.sendall(b"version\r\n")
        assert c.recv(100) == b"VERSION 1.6.18\r\n"
        c.close()
    finally:
        _stop(proc)


def test_udp_port_minus_one_picks_a_free_port():
    proc, ports = _launch(["-p", "-1", "-U", "-1"])
    try:
        lines = ports.splitlines()
        assert [line.split(":")[0] for line in lines] == ["TCP INET", "UDP INET"]
        udp_port = int(lines[1].split(":")[1])
        assert udp_port > 0
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.settimeout(5)
        u.sendto(HEADER.pack(1, 0, 1, 0) + b"version\r\n", ("127.0.0.1", udp_port))
        assert u.recv(100) == HEADER.pack(1, 0, 1, 0) + b"VERSION 1.6.18\r\n"
        u.close()
    finally:
        _stop(proc)


def test_tcp_only_by_default():
    proc, ports = _launch(["-p", "-1"])
    try:
        assert ports.startswith("TCP INET: ") and "UDP" not in ports
    finally:
        _stop(proc)


# --- cachet's own guarantees --------------------------------------------------------------------

def test_every_udp_socket_is_served(server_factory):
    """With IPv4 and IPv6 UDP sockets, each gets answered (every worker reads every socket)."""
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    port = free_udp_port()
    s = server_factory("-U", str(port), "-l", "127.0.0.1,[::1]", "-t", "2")
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.settimeout(5)
        sock.connect((host, port))
        for rid in range(3):
            sock.send(HEADER.pack(rid, 0, 1, 0) + b"version\r\n")
            d = sock.recv(65536)
            assert HEADER.unpack(d[:HEADER.size]) == (rid, 0, 1, 0)
            assert d[HEADER.size:] == b"VERSION 1.6.18\r\n"
        sock.close()
    # The TCP side still works too (no worker is stuck on a socket it cannot read).
    c = Conn(s)
    assert c.call(b"version\r\n") == b"VERSION 1.6.18\r\n"
    c.close()


@pytest.mark.skipif(os.path.basename(CACHET_BIN).startswith("memcached"),
                    reason="cachet refuses listings and watch over UDP (a forged source address "
                           "would make them an amplifier)")
@pytest.mark.parametrize("request_line, reply", [
    (b"stats cachedump 1 0\r\n", b"CLIENT_ERROR stats cachedump not allowed\r\n"),
    (b"lru_crawler metadump all\r\n", b"ERROR metadump not allowed\r\n"),
    (b"watch\r\n", b"CLIENT_ERROR watch commands not allowed\r\n"),
])
def test_listings_and_watch_refused_over_udp(udp, request_line, reply):
    assert udp.call(7, request_line) == reply
    udp.assert_no_reply_before_probe()


def test_R_does_not_drop_requests_over_udp(server_factory):
    port = free_udp_port()
    s = server_factory("-U", str(port), "-R", "2")
    s.udp_port = port
    u = Udp(s)
    payload = b"".join(b"set r%d 0 0 1 noreply\r\nx\r\n" % i for i in range(5)) + b"get r4\r\n"
    assert u.call(3, payload) == b"VALUE r4 0 1\r\nx\r\nEND\r\n"
    u.close()


@memcached_only_difference("cachet caps what one UDP datagram can make it send")
@pytest.mark.parametrize("factor, expected", [(None, 10), ("0", 20), ("1000", 20)])
def test_replies_to_one_datagram_are_capped(server_factory, factor, expected):
    port = free_udp_port()
    args = ["-U", str(port), "-t", "1"] + (["-o", f"udp_amplification={factor}"] if factor else [])
    s = server_factory(*args)
    s.udp_port = port
    u = Udp(s)
    value = b"v" * 1000
    keys = [b"amp%02d" % i for i in range(20)]
    for i, k in enumerate(keys):
        assert u.call(100 + i, b"set %s 0 0 1000\r\n%s\r\n" % (k, value)) == b"STORED\r\n"
    # A 133-byte datagram: the default cap is its 10x or 8 datagrams (11,200 bytes), whichever
    # is more: 10 of the 1,030-byte hit datagrams, the rest dropped.
    u.send(200, b"get " + b" ".join(keys) + b"\r\n")
    series = []
    for _ in range(expected):
        hdr, payload, _ = u.recv()
        assert hdr[0] == 200
        series.append(payload)
    assert series[0] == b"VALUE amp00 0 1000\r\n" + value + b"\r\n"
    assert series[-1].endswith(b"END\r\n") == (expected == 20)
    u.assert_no_reply_before_probe()
    u.close()


@memcached_only_difference("mp is cachet's")
def test_mp_over_udp_but_not_its_wait(udp):
    assert udp.call(300, b"mp udpx:\r\n") == b"HD\r\n"
    assert udp.call(301, b"mp udpx: w\r\n") == b"CLIENT_ERROR mp w needs a stream connection\r\n"


@memcached_only_difference("cachet caps what one UDP datagram can make it send")
def test_requests_after_a_capped_reply_still_run(udp_server, udp):
    # Over the session's 256 KiB output mark: the get's reply fills one round of the datagram's
    # answer, and the set runs in the next.
    value = b"w" * 300000
    c = Conn(udp_server)
    assert c.call(b"set capbig 0 0 300000\r\n" + value + b"\r\n") == b"STORED\r\n"
    udp.send(401, b"get capbig\r\nset capafter 0 0 1\r\nx\r\n")
    udp.assert_no_reply_before_probe()  # both replies dropped...
    assert c.call(b"get capafter\r\n", b"END\r\n") == b"VALUE capafter 0 1\r\nx\r\nEND\r\n"
    c.close()  # ...but the set ran
