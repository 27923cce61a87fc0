"""Many clients at once on a small -m: no torn or mixed values, CAS unique per version, and
concurrent increments are never lost, while eviction runs underneath."""
import re
import threading

from conftest import Conn

VALUE_RE = re.compile(rb"VALUE (\S+) (\d+) (\d+) (\d+)\r\n")


def make_value(key, version):
    # Every byte of a version tells which key and version it belongs to; the length varies.
    tag = b"%s:%d;" % (key, version)
    length = 50 + (version * 37) % 400
    return (tag * (length // len(tag) + 1))[:length]


def check_value(key, value):
    head = value.split(b";", 1)[0]
    k, _, v = head.partition(b":")
    return k == key and v.isdigit() and value == make_value(key, int(v))


def test_no_torn_values_under_eviction(server_factory):
    server = server_factory("-m", "8", "-t", "4")
    keys = [b"key%d" % i for i in range(200)]
    errors = []
    done = threading.Event()

    def writer(n):
        c = Conn(server)
        for i in range(1500):
            key = keys[(i * 7 + n) % len(keys)]
            value = make_value(key, i * 4 + n)
            filler = b"f%d_%d" % (n, i)
            c.send(b"set %s 0 0 %d\r\n%s\r\nset %s 0 0 2000\r\n%s\r\n"
                   % (key, len(value), value, filler, b"x" * 2000))
            if c.read_line() != b"STORED\r\n" or c.read_line() != b"STORED\r\n":
                errors.append("set failed")
        c.close()

    def reader():
        c = Conn(server)
        while not done.is_set():
            c.send(b"gets " + b" ".join(keys[:50]) + b"\r\n")
            while True:
                line = c.read_line()
                if line == b"END\r\n":
                    break
                m = VALUE_RE.fullmatch(line)
                if not m:
                    errors.append(line)
                    return
                value = c.read_exactly(int(m.group(3)) + 2)[:-2]
                if not check_value(m.group(1), value):
                    errors.append((m.group(1), value[:40]))
        c.close()

    writers = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    readers = [threading.Thread(target=reader) for _ in range(3)]
    for t in writers + readers:
        t.start()
    for t in writers:
        t.join()
    done.set()
    for t in readers:
        t.join()
    assert errors == []
    c = Conn(server)
    stats = c.call(b"stats\r\n", b"END\r\n")
    assert int(re.search(rb"STAT evictions (\d+)", stats).group(1)) > 0
    c.close()


def test_concurrent_incr_and_cas_lose_nothing(server):
    c = Conn(server)
    assert c.call(b"set n 0 0 1\r\n0\r\nset c 0 0 1\r\n0\r\n", b"STORED\r\nSTORED\r\n")
    c.close()
    cas_seen = []
    lock = threading.Lock()

    def incr():
        conn = Conn(server)
        for _ in range(500):
            assert conn.call(b"incr n 1\r\n").rstrip().isdigit()
        conn.close()

    def cas_increment():
        # Optimistic loop: gets, then cas with the value + 1; EXISTS means someone else won.
        conn = Conn(server)
        done = 0
        while done < 100:
            reply = conn.call(b"gets c\r\n", b"END\r\n")
            m = VALUE_RE.match(reply)
            value = int(reply.split(b"\r\n")[1])
            new = b"%d" % (value + 1)
            r = conn.call(b"cas c 0 0 %d %s\r\n%s\r\n" % (len(new), m.group(4), new))
            if r == b"STORED\r\n":
                done += 1
                with lock:
                    cas_seen.append(int(m.group(4)))
            else:
                assert r == b"EXISTS\r\n"
        conn.close()

    threads = [threading.Thread(target=incr) for _ in range(4)]
    threads += [threading.Thread(target=cas_increment) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    c = Conn(server)
    assert c.call(b"get n c\r\n", b"END\r\n") == \
        b"VALUE n 0 4\r\n2000\r\nVALUE c 0 3\r\n400\r\nEND\r\n"
    # Each successful cas consumed a distinct version.
    assert len(set(cas_seen)) == 400
    c.close()
