"""`stats settings|items|slabs|sizes|conns|detail|reset` and group dispatch, as memcached 1.6.18
answers them (docs/design/memcached-operator-behaviour.md §1-§7).

cachet has no slab allocator and reports its own size classes, so items/slabs/sizes are checked
by key names, formats and invariants, not memcached's chunk sizes.
"""
import socket

import pytest

from conftest import Conn, memcached_only_difference
from operator_helpers import (call, item_meta, local_port, metadump, parse_conns, stat_pairs, stats_dict,
                              stats_group, wait_for)

SETTINGS_KEYS = """
maxbytes maxconns tcpport udpport inter verbosity oldest evictions domain_socket umask
shutdown_command growth_factor chunk_size num_threads num_threads_per_udp stat_key_prefix
detail_enabled reqs_per_event cas_enabled tcp_backlog binding_protocol auth_enabled_sasl
auth_enabled_ascii item_size_max maxconns_fast hashpower_init slab_reassign slab_automove
slab_automove_ratio slab_automove_window slab_chunk_max lru_crawler lru_crawler_sleep
lru_crawler_tocrawl tail_repair_time flush_enabled dump_enabled hash_algorithm
lru_maintainer_thread lru_segmented hot_lru_pct warm_lru_pct hot_max_factor warm_max_factor
temp_lru temporary_ttl idle_timeout watcher_logbuf_size worker_logbuf_size read_buf_mem_limit
track_sizes inline_ascii_response
""".split()

# Debian's build (extstore + TLS) appends these after inline_ascii_response.
SETTINGS_TAIL_KEYS = """
ext_item_size ext_item_age ext_low_ttl ext_recache_rate ext_wbuf_size ext_compact_under
ext_drop_under ext_max_sleep ext_max_frag slab_automove_freeratio ext_drop_unread ssl_enabled
ssl_chain_cert ssl_key ssl_verify_mode ssl_keyformat ssl_ciphers ssl_ca_cert ssl_wbuf_size
ssl_session_cache ssl_kernel_tls ssl_min_version num_napi_ids memory_file
""".split()

ITEMS_KEYS = """
number number_hot number_warm number_cold age_hot age_warm age mem_requested evicted
evicted_nonzero evicted_time outofmemory tailrepairs reclaimed expired_unfetched
evicted_unfetched evicted_active crawler_reclaimed crawler_items_checked lrutail_reflocked
moves_to_cold moves_to_warm moves_within_lru direct_reclaims hits_to_hot hits_to_warm
hits_to_cold hits_to_temp
""".split()

SLABS_KEYS = """
chunk_size chunks_per_page total_pages total_chunks used_chunks free_chunks free_chunks_end
get_hits cmd_set delete_hits incr_hits decr_hits cas_hits cas_badval touch_hits
""".split()

IDLE_STATES = {"conn_new_cmd", "conn_waiting", "conn_read"}

MIXED_SIZES = [1, 10, 100, 700, 3000, 20000, 150000]


@pytest.fixture(scope="module")
def fresh(module_server_factory):
    """A server nobody writes to (empty-cache replies)."""
    return module_server_factory()


@pytest.fixture(scope="module")
def populated(module_server_factory):
    """A server holding a fixed population of mixed sizes, never flushed (memcached keeps
    flushed items in its per-class stats until they are reclaimed)."""
    server = module_server_factory()
    c = Conn(server, timeout=10)
    for i in range(120):
        size = MIXED_SIZES[i % len(MIXED_SIZES)]
        assert c.call(b"set pop:%d 0 0 %d\r\n%s\r\n" % (i, size, b"p" * size)) == b"STORED\r\n"
    c.close()
    return server


# --------------------------------------------------------------------------- dispatch

@pytest.mark.parametrize("cmd", [b"stats bogus", b"stats ITEMS", b"stats proxy",
                                 b"stats sizes_bogus", b"stats\tsettings"])
def test_unknown_group_is_error(mc, cmd):
    assert mc.call(cmd + b"\r\n") == b"ERROR\r\n"
    assert mc.call(b"version\r\n") == b"VERSION 1.6.18\r\n"


@pytest.mark.parametrize("group", [b"items", b"slabs", b"settings", b"sizes"])
def test_extra_tokens_after_group_are_ignored(populated, group):
    plain = [name for name, _ in stats_group(populated, group)]
    extra = [name for name, _ in stats_group(populated, group + b" extra tokens")]
    assert plain == extra


def test_repeated_spaces_before_group(populated):
    assert [n for n, _ in stats_group(populated, b" items")] == \
        [n for n, _ in stats_group(populated, b"items")]


# --------------------------------------------------------------------------- settings

def test_settings_core_keys_in_order(shared):
    names = [name for name, _ in stats_group(shared, b"settings")]
    assert names[:len(SETTINGS_KEYS)] == SETTINGS_KEYS


def test_settings_full_key_list_in_order(shared):
    """Exporters map these names; Debian's build adds ext_* and ssl_* after the core keys."""
    names = [name for name, _ in stats_group(shared, b"settings")]
    assert names == SETTINGS_KEYS + SETTINGS_TAIL_KEYS


def test_settings_default_values(shared):
    s = stats_dict(shared, b"settings")
    expected = {
        "maxbytes": "67108864", "maxconns": "1024",
        "udpport": "0", "inter": "127.0.0.1", "verbosity": "0",
        "evictions": "on", "domain_socket": "NULL", "umask": "700", "shutdown_command": "no",
        "growth_factor": "1.25", "chunk_size": "48", "num_threads": "4",
        "num_threads_per_udp": "4", "stat_key_prefix": ":", "detail_enabled": "no",
        "reqs_per_event": "20", "cas_enabled": "yes", "tcp_backlog": "1024",
        "binding_protocol": "auto-negotiate", "auth_enabled_sasl": "no",
        "auth_enabled_ascii": "no", "item_size_max": "1048576", "maxconns_fast": "yes",
        "hashpower_init": "0", "lru_crawler": "yes", "lru_crawler_sleep": "100",
        "lru_crawler_tocrawl": "0", "flush_enabled": "yes", "dump_enabled": "yes",
        "idle_timeout": "0", "track_sizes": "no", "lru_maintainer_thread": "yes",
        "lru_segmented": "yes", "temp_lru": "no", "temporary_ttl": "61",
    }
    assert {k: s.get(k) for k in expected} == expected


def test_settings_tcpport_is_the_port_argument(shared):
    """The suite starts servers with `-p -1` (pick a free port): memcached reports the argument,
    not the port it bound."""
    assert stats_dict(shared, b"settings")["tcpport"] == "-1"


def test_settings_oldest_moves_on_flush_all(module_server_factory):
    """`oldest` is 0 until a flush_all, then the server-clock time of the last flush."""
    server = module_server_factory()
    assert stats_dict(server, b"settings")["oldest"] == "0"
    assert call(server, b"flush_all\r\n") == b"OK\r\n"
    assert int(stats_dict(server, b"settings")["oldest"]) > 0


SETTINGS_BY_FLAGS = [
    (["-m", "100", "-c", "50", "-t", "2", "-v"],
     {"maxbytes": "104857600", "maxconns": "50", "num_threads": "2",
      "num_threads_per_udp": "2", "verbosity": "1"}),
    (["-vv"], {"verbosity": "2"}),
    (["-I", "2m", "-f", "1.5", "-n", "64"],
     {"item_size_max": "2097152", "growth_factor": "1.50", "chunk_size": "64"}),
    (["-D", "/", "-C"], {"stat_key_prefix": "/", "detail_enabled": "yes", "cas_enabled": "no"}),
    (["-F", "-X", "-W", "-A"],
     {"flush_enabled": "no", "dump_enabled": "no", "shutdown_command": "yes"}),
    (["-M", "-R", "7", "-b", "99", "-B", "ascii"],
     {"evictions": "off", "reqs_per_event": "7", "tcp_backlog": "99",
      "binding_protocol": "ascii"}),
    (["-o", "idle_timeout=30,hashpower=20,track_sizes,no_lru_crawler"],
     {"idle_timeout": "30", "hashpower_init": "20", "track_sizes": "yes", "lru_crawler": "no"}),
    (["-o", "no_lru_maintainer"], {"lru_maintainer_thread": "no", "lru_segmented": "no"}),
]


@pytest.mark.parametrize("flags,changed", SETTINGS_BY_FLAGS,
                         ids=[" ".join(f) for f, _ in SETTINGS_BY_FLAGS])
def test_settings_follow_flags(module_server_factory, shared, flags, changed):
    server = module_server_factory(*flags)
    base = stats_group(shared, b"settings")
    got = stats_group(server, b"settings")
    assert [n for n, _ in got] == [n for n, _ in base]  # same keys, same order
    got, base = dict(got), dict(base)
    assert {k: got[k] for k in changed} == changed
    untouched = {k for k in base if k not in changed and k != "oldest"}
    assert {k: got[k] for k in untouched} == {k: base[k] for k in untouched}


def test_settings_unix_socket(module_server_factory):
    server = module_server_factory("-a", "0766", unix=True)
    s = stats_dict(server, b"settings")
    assert s["domain_socket"] == server.socket_path
    assert s["umask"] == "766"
    assert s["inter"] == "NULL"


def test_settings_show_runtime_changes(module_server_factory):
    server = module_server_factory()
    c = Conn(server)
    assert c.call(b"stats detail on\r\n") == b"OK\r\n"
    assert c.call(b"verbosity 1\r\n") == b"OK\r\n"
    s = stats_dict(c, b"settings")
    assert (s["detail_enabled"], s["verbosity"]) == ("yes", "1")
    assert c.call(b"stats detail off\r\n") == b"OK\r\n"
    assert c.call(b"verbosity 0\r\n") == b"OK\r\n"
    s = stats_dict(c, b"settings")
    assert (s["detail_enabled"], s["verbosity"]) == ("no", "0")
    c.close()


# --------------------------------------------------------------------------- items

def test_items_and_slabs_empty(fresh):
    assert call(fresh, b"stats items\r\n", b"END\r\n") == b"END\r\n"
    assert call(fresh, b"stats slabs\r\n", b"END\r\n") == \
        b"STAT active_slabs 0\r\nSTAT total_malloced 0\r\nEND\r\n"


def _per_class(pairs, prefix=""):
    """{class: [(name, value), ...]} for names like `<prefix><cls>:<name>`."""
    out = {}
    for name, value in pairs:
        if not name.startswith(prefix):
            continue
        cls, sep, field = name[len(prefix):].partition(":")
        if not sep:
            continue
        out.setdefault(int(cls), []).append((field, value))
    return out


def test_items_key_names_and_format(populated):
    pairs = stats_group(populated, b"items")
    assert pairs, "no items classes"
    classes = []
    for name, value in pairs:
        parts = name.split(":")
        assert len(parts) == 3 and parts[0] == "items" and parts[1].isdigit(), name
        assert value.isdigit(), (name, value)
        if not classes or classes[-1] != int(parts[1]):
            classes.append(int(parts[1]))
    assert classes == sorted(set(classes)), "classes not grouped in ascending order"
    for cls, fields in _per_class(pairs, "items:").items():
        assert [f for f, _ in fields] == ITEMS_KEYS, cls


def test_items_numbers_sum_to_curr_items(populated):
    per_class = _per_class(stats_group(populated, b"items"), "items:")
    numbers = {cls: int(dict(f)["number"]) for cls, f in per_class.items()}
    assert all(n > 0 for n in numbers.values())  # only classes holding items are listed
    assert sum(numbers.values()) == int(stats_dict(populated)["curr_items"]) == 120
    assert len(numbers) >= 2  # mixed sizes use several classes


# --------------------------------------------------------------------------- slabs

def test_slabs_key_names_order_and_totals(populated):
    pairs = stats_group(populated, b"slabs")
    assert [n for n, _ in pairs[-2:]] == ["active_slabs", "total_malloced"]
    per_class = _per_class(pairs[:-2])
    assert len(per_class) * len(SLABS_KEYS) == len(pairs) - 2
    assert list(per_class) == sorted(per_class)
    for cls, fields in per_class.items():
        assert [f for f, _ in fields] == SLABS_KEYS, cls
        assert all(v.isdigit() for _, v in fields), fields
    assert int(pairs[-2][1]) == len(per_class)
    assert int(pairs[-1][1]) > 0


def test_slabs_invariants(populated):
    per_class = {c: {k: int(v) for k, v in f} for c, f in
                 _per_class(stats_group(populated, b"slabs")[:-2]).items()}
    sizes = [per_class[c]["chunk_size"] for c in sorted(per_class)]
    assert sizes == sorted(set(sizes)), "chunk_size must grow with the class"
    for cls, s in per_class.items():
        assert s["total_pages"] >= 1, cls
        assert s["total_chunks"] == s["chunks_per_page"] * s["total_pages"], (cls, s)
        assert s["used_chunks"] + s["free_chunks"] == s["total_chunks"], (cls, s)
        assert s["used_chunks"] <= s["total_chunks"]
    items = {c: int(dict(f)["number"])
             for c, f in _per_class(stats_group(populated, b"items"), "items:").items()}
    assert set(items) <= set(per_class)
    for cls, n in items.items():
        assert per_class[cls]["used_chunks"] >= n, cls


def test_each_item_sits_in_one_class_that_fits_it(populated):
    slabs = {c: {k: int(v) for k, v in f} for c, f in
             _per_class(stats_group(populated, b"slabs")[:-2]).items()}
    items = {c: int(dict(f)["number"])
             for c, f in _per_class(stats_group(populated, b"items"), "items:").items()}
    def complete():
        d = {k: v for k, v in metadump(populated).items() if k.startswith(b"pop:")}
        return d if len(d) == 120 else None

    dump = wait_for(complete, what="all 120 keys in metadump")
    per_cls = {}
    for key, meta in dump.items():
        assert meta["cls"] in slabs, (key, meta)
        assert slabs[meta["cls"]]["chunk_size"] >= meta["size"], (key, meta)
        per_cls[meta["cls"]] = per_cls.get(meta["cls"], 0) + 1
    assert per_cls == items
    # items of one value size share a class; bigger values never sit in a smaller class
    by_size = {}
    for key, meta in dump.items():
        by_size.setdefault(MIXED_SIZES[int(key[4:]) % len(MIXED_SIZES)], set()).add(meta["cls"])
    assert all(len(v) == 1 for v in by_size.values()), by_size
    ordered = [next(iter(by_size[s])) for s in sorted(by_size)]
    assert ordered == sorted(ordered)


def test_slabs_per_class_counters(module_server_factory):
    server = module_server_factory()
    c = Conn(server)
    assert c.call(b"set ctr 0 0 5\r\nhello\r\n") == b"STORED\r\n"
    cls = item_meta(server, b"ctr")["cls"]

    def counters():
        return {k: int(v) for k, v in _per_class(stats_group(c, b"slabs")[:-2])[cls]}

    before = counters()
    assert c.call(b"get ctr\r\n", b"END\r\n").startswith(b"VALUE ctr 0 5\r\n")
    assert c.call(b"set ctr 0 0 5\r\nworld\r\n") == b"STORED\r\n"
    assert c.call(b"touch ctr 100\r\n") == b"TOUCHED\r\n"
    after = counters()
    assert after["get_hits"] == before["get_hits"] + 1
    assert after["cmd_set"] == before["cmd_set"] + 1
    assert after["touch_hits"] == before["touch_hits"] + 1
    assert c.call(b"delete ctr\r\n") == b"DELETED\r\n"
    assert counters()["delete_hits"] == before["delete_hits"] + 1
    c.close()


# --------------------------------------------------------------------------- sizes

def test_sizes_disabled_by_default(shared):
    assert call(shared, b"stats sizes\r\n", b"END\r\n") == \
        b"STAT sizes_status disabled\r\nEND\r\n"


def test_sizes_enable_disable_reply_without_end(module_server_factory):
    server = module_server_factory()
    c = Conn(server)
    # no END after these two: the next reply follows directly
    assert c.call(b"stats sizes_enable\r\nversion\r\n", b"VERSION 1.6.18\r\n") == \
        b"STAT sizes_status enabled\r\nVERSION 1.6.18\r\n"
    assert c.call(b"stats sizes_enable x\r\nversion\r\n", b"VERSION 1.6.18\r\n") == \
        b"STAT sizes_status enabled\r\nVERSION 1.6.18\r\n"
    assert c.call(b"stats sizes\r\n", b"END\r\n") == b"END\r\n"  # enabled, nothing stored since
    for i, n in enumerate([1, 1, 10, 1000, 1000, 5000]):
        assert c.call(b"set sz%d 0 0 %d\r\n%s\r\n" % (i, n, b"s" * n)) == b"STORED\r\n"
    reply = c.call(b"stats sizes\r\n", b"END\r\n")
    buckets = [(int(a), int(b)) for a, b in stat_pairs(reply)]
    assert reply == b"".join(b"STAT %d %d\r\n" % p for p in buckets) + b"END\r\n"
    assert [b for b, _ in buckets] == sorted({b for b, _ in buckets})
    assert all(b % 32 == 0 and n > 0 for b, n in buckets), buckets
    assert sum(n for _, n in buckets) == 6
    assert c.call(b"stats sizes_disable\r\nversion\r\n", b"VERSION 1.6.18\r\n") == \
        b"STAT sizes_status disabled\r\nVERSION 1.6.18\r\n"
    assert c.call(b"stats sizes\r\n", b"END\r\n") == b"STAT sizes_status disabled\r\nEND\r\n"
    c.close()


def test_sizes_track_sizes_counts_live_items(module_server_factory):
    server = module_server_factory("-o", "track_sizes")
    c = Conn(server)

    def buckets():
        return [(int(a), int(b)) for a, b in stats_group(c, b"sizes")]

    assert buckets() == []
    assert c.call(b"set a 0 0 1\r\nx\r\n") == b"STORED\r\n"
    assert c.call(b"set b 0 0 100\r\n%s\r\n" % (b"x" * 100)) == b"STORED\r\n"
    two = buckets()
    assert len(two) == 2 and all(n == 1 for _, n in two) and two[0][0] < two[1][0]
    small, big = two[0][0], two[1][0]
    assert c.call(b"delete b\r\n") == b"DELETED\r\n"
    assert buckets() == [(small, 1)]
    # replacing a with a 100-byte value moves it to the big bucket
    assert c.call(b"set a 0 0 100\r\n%s\r\n" % (b"x" * 100)) == b"STORED\r\n"
    assert buckets() == [(big, 1)]
    c.close()


# --------------------------------------------------------------------------- conns

def _conns(server_or_conn):
    return parse_conns(stats_group(server_or_conn, b"conns"))


def test_conns_format_listener_and_requester(shared):
    c = Conn(shared)
    conns, order = _conns(c)
    assert order == sorted(order)
    listeners = [fd for fd, f in conns.items() if dict(f).get("state") == "conn_listening"]
    assert len(listeners) == 1
    assert conns[listeners[0]][0] == ("addr", f"tcp:127.0.0.1:{shared.port}")
    assert [f for f, _ in conns[listeners[0]]] == ["addr", "state", "secs_since_last_cmd"]
    me = [fd for fd, f in conns.items() if dict(f).get("addr") == f"tcp:127.0.0.1:{local_port(c)}"]
    assert len(me) == 1
    fields = conns[me[0]]
    assert [f for f, _ in fields] == ["addr", "listen_addr", "state", "secs_since_last_cmd"]
    assert dict(fields)["listen_addr"] == f"tcp:127.0.0.1:{shared.port}"
    assert dict(fields)["state"] == "conn_parse_cmd"
    assert dict(fields)["secs_since_last_cmd"] == "0"
    for fd, f in conns.items():
        assert dict(f)["secs_since_last_cmd"].isdigit()
    c.close()


def test_conns_states_of_other_connections(module_server_factory):
    server = module_server_factory()
    idle = Conn(server)
    assert idle.call(b"version\r\n") == b"VERSION 1.6.18\r\n"
    fresh = Conn(server)
    mid_value = Conn(server)
    mid_value.send(b"set k 0 0 10\r\nabc")
    watcher = Conn(server)
    assert watcher.call(b"watch\r\n") == b"OK\r\n"
    me = Conn(server)

    def state_of(conn):
        port = local_port(conn)
        conns, _ = _conns(me)
        for fd, f in conns.items():
            if dict(f).get("addr") == f"tcp:127.0.0.1:{port}":
                return dict(f)["state"]
        return None

    # each connection is registered by its worker asynchronously: poll until all are listed
    wait_for(lambda: all(state_of(x) for x in (idle, fresh, mid_value, watcher)),
             what="all connections in stats conns")
    assert state_of(idle) in IDLE_STATES
    assert state_of(fresh) in IDLE_STATES
    assert wait_for(lambda: state_of(mid_value) == "conn_nread", what="conn_nread")
    assert state_of(watcher) == "conn_watch"
    for x in (idle, fresh, mid_value, watcher, me):
        x.close()


def test_conns_closed_connection_disappears(shared):
    other = Conn(shared)
    assert other.call(b"version\r\n") == b"VERSION 1.6.18\r\n"
    addr = f"tcp:127.0.0.1:{local_port(other)}"
    c = Conn(shared)
    assert any(dict(f).get("addr") == addr for f in _conns(c)[0].values())
    other.close()
    wait_for(lambda: not any(dict(f).get("addr") == addr for f in _conns(c)[0].values()),
             what="closed connection to leave stats conns")
    c.close()


def test_conns_unix_socket(unix_server):
    c = Conn(unix_server)
    conns, _ = _conns(c)
    listeners = [f for f in conns.values() if dict(f).get("state") == "conn_listening"]
    assert len(listeners) == 1 and dict(listeners[0])["addr"].startswith("unix:")
    clients = [f for f in conns.values() if "listen_addr" in dict(f)]
    assert clients and all(dict(f)["listen_addr"] == f"unix:{unix_server.socket_path}"
                           for f in clients)
    assert any(dict(f)["state"] == "conn_parse_cmd" for f in clients)
    c.close()


@memcached_only_difference("memcached cuts a unix listener's path (and may append garbage)")
def test_conns_unix_listener_full_path(unix_server):
    conns, _ = _conns(unix_server)
    listeners = [f for f in conns.values() if dict(f).get("state") == "conn_listening"]
    assert dict(listeners[0])["addr"] == f"unix:{unix_server.socket_path}"


def _free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_conns_udp_sockets(module_server_factory):
    port = _free_udp_port()
    server = module_server_factory("-U", str(port), "-t", "2")
    assert stats_dict(server, b"settings")["udpport"] == str(port)
    conns, _ = _conns(server)
    udp = [f for f in conns.values() if dict(f).get("addr", "").startswith("udp:")]
    assert len(udp) == 2  # one per worker thread
    for f in udp:
        assert f == [("UDP", "UDP"), ("addr", f"udp:127.0.0.1:{port}"), ("state", "conn_read"),
                     ("secs_since_last_cmd", dict(f)["secs_since_last_cmd"])]


# --------------------------------------------------------------------------- detail

@pytest.fixture
def detail_server(module_server_factory):
    return module_server_factory()


def _detail(conn):
    reply = conn.call(b"stats detail dump\r\n", b"END\r\n")
    out = {}
    for line in reply.split(b"\r\n")[:-2]:
        parts = line.split(b" ")
        assert len(parts) == 10 and parts[0] == b"PREFIX", line
        assert [parts[i] for i in (2, 4, 6, 8)] == [b"get", b"hit", b"set", b"del"], line
        assert parts[1] not in out
        out[parts[1]] = tuple(int(parts[i]) for i in (3, 5, 7, 9))
    return out


@pytest.mark.parametrize("cmd", [b"stats detail", b"stats detail bogus", b"stats detail ON"])
def test_detail_usage_error(mc, cmd):
    assert mc.call(cmd + b"\r\n") == b"CLIENT_ERROR usage: stats detail on|off|dump\r\n"


def test_detail_counts_per_prefix(detail_server):
    c = Conn(detail_server)
    assert c.call(b"stats detail dump\r\n") == b"END\r\n"
    assert c.call(b"stats detail on\r\n") == b"OK\r\n"
    assert c.call(b"set foo:a 0 0 1\r\nx\r\n") == b"STORED\r\n"
    assert c.call(b"get foo:a foo:b bar:c nodelim\r\n", b"END\r\n") == \
        b"VALUE foo:a 0 1\r\nx\r\nEND\r\n"
    assert c.call(b"gets foo:z\r\n") == b"END\r\n"
    assert c.call(b"delete foo:a\r\n") == b"DELETED\r\n"
    assert c.call(b"delete bar:missing\r\n") == b"NOT_FOUND\r\n"
    assert c.call(b"add foo:n 0 0 1\r\n1\r\n") == b"STORED\r\n"
    assert c.call(b"add foo:n 0 0 1\r\n1\r\n") == b"NOT_STORED\r\n"
    assert c.call(b"set nodelim 0 0 1\r\nx\r\n") == b"STORED\r\n"
    # not recorded: touch, incr/decr, meta commands
    assert c.call(b"touch foo:n 10\r\n") == b"TOUCHED\r\n"
    assert c.call(b"incr foo:n 1\r\n") == b"2\r\n"
    assert c.call(b"mg foo:n v\r\n", b"\r\n2\r\n") == b"VA 1\r\n2\r\n"
    assert c.call(b"ms foo:m 1\r\nx\r\n") == b"HD\r\n"
    assert c.call(b"md bar:c\r\n") == b"NF\r\n"
    assert _detail(c) == {b"foo": (3, 1, 3, 1), b"bar": (1, 0, 0, 1)}
    # off keeps the table, reset empties it
    assert c.call(b"stats detail off\r\n") == b"OK\r\n"
    assert c.call(b"get foo:a\r\n") == b"END\r\n"
    assert _detail(c) == {b"foo": (3, 1, 3, 1), b"bar": (1, 0, 0, 1)}
    assert c.call(b"stats detail dump extra\r\n", b"END\r\n").count(b"PREFIX ") == 2
    assert c.call(b"stats reset\r\n") == b"RESET\r\n"
    assert c.call(b"stats detail dump\r\n") == b"END\r\n"
    c.close()


def test_detail_custom_delimiter(module_server_factory):
    server = module_server_factory("-D", "/")
    c = Conn(server)
    # -D turns detail on by itself
    assert c.call(b"get a/1 a:b x/y/z /lead\r\n") == b"END\r\n"
    assert c.call(b"set a/2 0 0 1\r\nx\r\n") == b"STORED\r\n"
    assert c.call(b"get a/2\r\n", b"END\r\n") == b"VALUE a/2 0 1\r\nx\r\nEND\r\n"
    assert _detail(c) == {b"a": (2, 1, 1, 0), b"x": (1, 0, 0, 0), b"": (1, 0, 0, 0)}
    reply = c.call(b"stats detail dump\r\n", b"END\r\n")
    assert b"PREFIX  get 1 hit 0 set 0 del 0\r\n" in reply  # empty prefix: two spaces
    c.close()


# --------------------------------------------------------------------------- reset

def test_stats_reset(module_server_factory):
    server = module_server_factory()
    c = Conn(server)
    assert c.call(b"set r 0 0 1\r\nx\r\n") == b"STORED\r\n"
    assert c.call(b"get r nope\r\n", b"END\r\n") == b"VALUE r 0 1\r\nx\r\nEND\r\n"
    cls = item_meta(server, b"r")["cls"]
    assert c.call(b"stats reset\r\n") == b"RESET\r\n"
    assert c.call(b"stats reset x\r\n") == b"RESET\r\n"
    s = stats_dict(c)
    for name in ("cmd_get", "cmd_set", "get_hits", "get_misses", "total_items",
                 "total_connections"):
        assert s[name] == "0", name
    assert s["curr_items"] == "1"
    assert int(s["curr_connections"]) >= 1
    slabs = dict(_per_class(stats_group(c, b"slabs")[:-2])[cls])
    assert (slabs["get_hits"], slabs["cmd_set"]) == ("0", "0")
    assert slabs["used_chunks"] != "0"
    c.close()
