"""The Prometheus endpoint (-o metrics_port, a cachet extension), scraped over HTTP and read
with Debian's prometheus_client text parser."""
import http.client
import os

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import IS_MEMCACHED, Conn

pytestmark = pytest.mark.skipif(IS_MEMCACHED, reason="cachet extension: memcached has no "
                                                     "metrics endpoint")


def metrics_port(server):
    with open(os.path.join(server.tmpdir, "ports")) as f:
        for line in f:
            if line.startswith("METRICS INET:"):
                return int(line.split(":")[1])
    raise AssertionError("no METRICS line in the port file")


def scrape(server, path="/metrics", method="GET"):
    conn = http.client.HTTPConnection("127.0.0.1", metrics_port(server), timeout=5)
    conn.request(method, path)
    resp = conn.getresponse()
    body = resp.read().decode()
    conn.close()
    return resp.status, resp.getheader("Content-Type"), body


def samples(body):
    out = {}
    for family in text_string_to_metric_families(body):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


@pytest.fixture(scope="module")
def metrics_server(module_server_factory):
    return module_server_factory("-o", "metrics_port=-1")


def test_counters_follow_traffic(metrics_server):
    c = Conn(metrics_server)
    before = samples(scrape(metrics_server)[2])
    assert c.call(b"set m:1 0 0 5\r\nhello\r\n") == b"STORED\r\n"
    assert c.call(b"get m:1 m:nope\r\n", b"END\r\n").startswith(b"VALUE m:1 0 5")
    after = samples(scrape(metrics_server)[2])
    assert after[("cachet_cmd_get_total", ())] - before[("cachet_cmd_get_total", ())] == 2
    assert after[("cachet_get_hits_total", ())] - before[("cachet_get_hits_total", ())] == 1
    assert after[("cachet_get_misses_total", ())] - before[("cachet_get_misses_total", ())] == 1
    assert after[("cachet_cmd_set_total", ())] - before[("cachet_cmd_set_total", ())] == 1
    # Gauges agree with the text protocol's stats.
    stats = dict(line.split()[1:3] for line in
                 c.call(b"stats\r\n", b"END\r\n").decode().split("\r\n")[:-2])
    assert after[("cachet_curr_items", ())] == int(stats["curr_items"])
    assert after[("cachet_limit_maxbytes", ())] == 64 * 1048576
    c.close()


def test_per_class_items_add_up_to_curr_items(metrics_server):
    c = Conn(metrics_server)
    for i in range(50):
        value = b"x" * (i * 37)
        assert c.call(b"set cls:%d 0 0 %d\r\n%s\r\n" % (i, len(value), value)) == b"STORED\r\n"
    s = samples(scrape(metrics_server)[2])
    per_class = [v for (name, labels), v in s.items() if name == "cachet_class_items"]
    assert len(per_class) > 1
    assert sum(per_class) == s[("cachet_curr_items", ())]
    assert s[("cachet_resident_memory_bytes", ())] > 0
    c.close()


def test_content_type_and_types(metrics_server):
    status, ctype, body = scrape(metrics_server)
    assert status == 200 and ctype.startswith("text/plain; version=0.0.4")
    types = {f.name: f.type for f in text_string_to_metric_families(body)}
    # prometheus_client strips the _total suffix from counter family names.
    assert types["cachet_cmd_get"] == "counter"
    assert types["cachet_curr_connections"] == "gauge"


def test_other_paths_and_methods(metrics_server):
    assert scrape(metrics_server, "/")[0] == 404
    assert scrape(metrics_server, method="POST")[0] == 405


def test_bad_scraper_does_not_block_the_endpoint(metrics_server):
    import socket
    idle = socket.create_connection(("127.0.0.1", metrics_port(metrics_server)))
    idle.sendall(b"GET /metr")  # never finishes its request
    # The endpoint gives up on it after its request timeout and serves the next scraper.
    assert scrape(metrics_server)[0] == 200
    idle.close()


def test_off_by_default(server_factory):
    s = server_factory()
    with open(os.path.join(s.tmpdir, "ports")) as f:
        assert "METRICS" not in f.read()


def test_slow_clients_do_not_hold_up_a_scrape(metrics_server):
    import socket
    drippers = []
    for _ in range(20):
        d = socket.create_connection(("127.0.0.1", metrics_port(metrics_server)))
        d.sendall(b"G")  # and nothing more for now
        drippers.append(d)
    for d in drippers:
        d.sendall(b"E")
    # Served beside them (one at a time, each dripper could hold the endpoint 2 s).
    assert scrape(metrics_server)[0] == 200
    for d in drippers:
        d.close()


def test_oversized_request_gets_431(metrics_server):
    import socket
    c = socket.create_connection(("127.0.0.1", metrics_port(metrics_server)), timeout=5)
    c.sendall(b"GET /metrics HTTP/1.0\r\nX-Junk: " + b"j" * 9000)
    reply = b""
    while True:
        chunk = c.recv(4096)
        if not chunk:
            break
        reply += chunk
    assert reply.startswith(b"HTTP/1.0 431 Request Header Fields Too Large\r\n")
    c.close()


def test_head_has_headers_only(metrics_server):
    conn = http.client.HTTPConnection("127.0.0.1", metrics_port(metrics_server), timeout=5)
    conn.request("HEAD", "/metrics")
    resp = conn.getresponse()
    assert resp.status == 200 and int(resp.getheader("Content-Length")) > 0
    assert resp.read() == b""
    conn.close()


def test_sigterm_is_not_held_by_a_dripping_metrics_client(server_factory):
    import signal
    import socket
    import threading
    import time
    s = server_factory("-o", "metrics_port=-1")
    d = socket.create_connection(("127.0.0.1", metrics_port(s)))
    stop = threading.Event()

    def drip():  # a byte now and then, so no per-read timeout ever fires
        try:
            while not stop.is_set():
                d.sendall(b"x")
                time.sleep(0.2)
        except OSError:
            pass

    t = threading.Thread(target=drip)
    t.start()
    s.proc.send_signal(signal.SIGTERM)
    try:
        assert s.proc.wait(timeout=10) == 0
    finally:
        stop.set()
        t.join()
        d.close()


def test_flush_prefix_counters_are_exported(metrics_server):
    c = Conn(metrics_server)
    assert c.call(b"set fpm:1 0 0 1\r\nx\r\n") == b"STORED\r\n"
    assert c.call(b"flush_prefix fpm:\r\n") == b"OK\r\n"
    body = scrape(metrics_server)[2]
    s = samples(body)
    assert s[("cachet_cmd_flush_prefix_total", ())] >= 1
    assert ("cachet_flush_prefix_items_total", ()) in s
    types = {f.name: f.type for f in text_string_to_metric_families(body)}
    assert types["cachet_flush_prefix_rules_active"] == "gauge"
    assert s[("cachet_flush_prefix_max_rules", ())] == 64
    c.close()
