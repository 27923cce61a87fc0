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
