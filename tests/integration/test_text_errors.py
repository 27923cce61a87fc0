"""Error replies of the text protocol, and what happens to the rest of the input stream.

The rule memcached 1.6.18 follows (and cachet must follow): only the two SERVER_ERRORs of a
storage command ("object too large for cache", "out of memory storing object") swallow the data
block. Every CLIENT_ERROR / ERROR for a storage command line leaves the data block in the stream,
where it is parsed as the next command line (usually giving "ERROR"). "bad data chunk" consumes
exactly <bytes>+2 bytes and the remainder of the line is parsed as a command.

Checks marked memcached_only_difference are cachet's deliberate stricter validation; they are
skipped when the suite runs against memcached.
"""
import pytest

from conftest import Conn, memcached_only_difference
from text_helpers import (BAD_CHUNK, BAD_EXPTIME, BAD_FORMAT, VERSION_LINE, assert_quiet, get,
                          read_retrieval, store, value_block)

K250 = b"k" * 250
K251 = b"k" * 251


@pytest.fixture
def mc(mc):
    """conftest's connection, with key `a` holding b"old"."""
    assert store(mc, b"a", b"old") == b"STORED\r\n"
    return mc


def expect(conn, data):
    assert conn.read_exactly(len(data)) == data


A_OLD = value_block(b"a", b"old") + b"END\r\n"


# --- key length ----------------------------------------------------------------------------

def test_key_of_250_bytes_works_everywhere(mc):
    assert store(mc, K250, b"1") == b"STORED\r\n"
    assert get(mc, K250) == value_block(K250, b"1") + b"END\r\n"
    assert mc.call(b"incr " + K250 + b" 1\r\n") == b"2\r\n"
    assert mc.call(b"touch " + K250 + b" 0\r\n") == b"TOUCHED\r\n"
    assert store(mc, K250, b"0", cmd=b"append") == b"STORED\r\n"
    assert get(mc, b"a", K250, cmd=b"gat 0") == A_OLD[:-5] + value_block(K250, b"20") + b"END\r\n"
    assert mc.call(b"delete " + K250 + b"\r\n") == b"DELETED\r\n"


@pytest.mark.parametrize("cmd", [b"set", b"add", b"replace", b"append", b"prepend"])
def test_storage_with_251_byte_key_does_not_swallow_data(mc, cmd):
    mc.send(b"%s %s 0 0 1\r\nx\r\n" % (cmd, K251))
    expect(mc, BAD_FORMAT + b"ERROR\r\n")  # the data line "x" was parsed as a command
    # A data block that happens to be a valid command is executed.
    mc.send(b"%s %s 0 0 5\r\nget a\r\n" % (cmd, K251))
    expect(mc, BAD_FORMAT + A_OLD)
    assert_quiet(mc)


def test_cas_with_251_byte_key(mc):
    mc.send(b"cas " + K251 + b" 0 0 1 1\r\nx\r\n")
    expect(mc, BAD_FORMAT + b"ERROR\r\n")
    assert_quiet(mc)


def test_251_byte_key_noreply_is_silent_but_data_still_parsed(mc):
    mc.send(b"set " + K251 + b" 0 0 5 noreply\r\nget a\r\n")
    expect(mc, A_OLD)
    assert_quiet(mc)


@pytest.mark.parametrize("cmd", [b"get", b"gets", b"gat 0", b"gats 0"])
def test_retrieval_with_251_byte_key_discards_earlier_hits(mc, cmd):
    for i in range(100):
        assert store(mc, b"k%d" % i, b"v") == b"STORED\r\n"
    # Keys before the bad one exist, but no VALUE is sent: only the error.
    mc.send(b"%s a a %s a\r\n" % (cmd, K251))
    expect(mc, BAD_FORMAT)
    assert_quiet(mc)
    mc.send(cmd + b" " + b" ".join(b"k%d" % i for i in range(100)) + b" " + K251 + b"\r\n")
    expect(mc, BAD_FORMAT)
    assert_quiet(mc)
    mc.send(cmd + b" " + K251 + b" a\r\n")
    expect(mc, BAD_FORMAT)
    assert_quiet(mc)


def test_get_with_3000_byte_key(mc):
    mc.send(b"get " + b"a" * 3000 + b"\r\nversion\r\n")
    expect(mc, BAD_FORMAT + VERSION_LINE)


@pytest.mark.parametrize("line", [b"delete %s\r\n", b"incr %s 1\r\n", b"decr %s 1\r\n",
                                  b"touch %s 1\r\n", b"delete %s noreply\r\n"])
def test_other_commands_with_251_byte_key(mc, line):
    if line.endswith(b"noreply\r\n"):
        mc.send(line % K251)
        assert_quiet(mc)
    else:
        assert mc.call(line % K251) == BAD_FORMAT


# --- bad data chunk ------------------------------------------------------------------------

@pytest.mark.parametrize("sent,after", [
    (b"set a 0 0 1\r\nxy\r\n", b"ERROR\r\n"),         # reads "xy\r"; then "\n" is an empty line
    (b"set a 0 0 1\r\nabc\r\n", b"ERROR\r\n"),        # reads "abc"; then "\r\n"
    (b"set a 0 0 2\r\nabcdefg\r\n", b"ERROR\r\n"),    # reads "abcd"; then "efg\r\n"
    (b"set a 0 0 3\r\nabc\nget a\r\n", b"ERROR\r\n"), # reads "abc\ng"; then "et a\r\n"
    (b"set a 0 0 1\r\ny\n\r\n", b"ERROR\r\n"),        # reads "y\n\r"; then "\n"
    (b"set a 0 0 1\r\ny\r\r\n", b"ERROR\r\n"),        # reads "y\r\r"; then "\n"
    (b"append a 0 0 1\r\nxy\r\n", b"ERROR\r\n"),
    (b"cas a 0 0 1 1\r\nxy\r\n", b"ERROR\r\n"),
])
def test_bad_data_chunk(mc, sent, after):
    mc.send(sent)
    expect(mc, BAD_CHUNK + after)
    assert_quiet(mc)
    assert get(mc, b"a") == A_OLD  # the old value is untouched


def test_bad_data_chunk_short_data_eats_next_command(mc):
    mc.send(b"set a 0 0 3\r\nx\r\n")  # needs 5 bytes, has 3: waits for more
    mc.send(b"get a\r\n")              # "ge" completes the block (bad), "t a\r\n" -> ERROR
    expect(mc, BAD_CHUNK + b"ERROR\r\n")
    assert get(mc, b"a") == A_OLD


def test_bad_data_chunk_with_exact_cr_but_no_lf(mc):
    mc.send(b"set a 0 0 3\r\nabc\r")
    mc.send(b"Xversion\r\n")
    expect(mc, BAD_CHUNK + VERSION_LINE)


# --- numeric arguments of storage commands ------------------------------------------------

@pytest.mark.parametrize("line", [
    b"set x abc 0 1\r\n", b"set x 0 abc 1\r\n", b"set x 0 0 abc\r\n", b"set x -1 0 1\r\n",
    b"set x 0x10 0 1\r\n", b"set x 0 0 1x\r\n", b"set x 1.5 0 1\r\n", b"set x 0 0 1.0\r\n",
    b"set x 18446744073709551616 0 1\r\n",       # flags beyond 64 bits: ERANGE
    b"set x 0 9999999999999999999999 1\r\n",     # exptime beyond 64 bits: ERANGE
    b"set x 0 0 99999999999999999999\r\n",
    b"add x abc 0 1\r\n", b"replace x 0 abc 1\r\n", b"append x 0 0 abc\r\n",
    b"cas x abc 0 1 1\r\n",
])
def test_bad_number_in_storage_line_does_not_swallow_data(mc, line):
    mc.send(line + b"x\r\n")
    expect(mc, BAD_FORMAT + b"ERROR\r\n")
    assert_quiet(mc)
    assert get(mc, b"x") == b"END\r\n"


@pytest.mark.parametrize("nbytes", [b"-1", b"-2147483648", b"2147483646", b"2147483647",
                                    b"4294967295"])
def test_negative_or_huge_bytes(mc, nbytes):
    # 4294967295 truncates to int32 -1; 2147483646 + 2 overflows INT_MAX.
    assert mc.call(b"set x 0 0 " + nbytes + b"\r\n") == BAD_FORMAT
    assert_quiet(mc)  # nothing is waiting for a data block
    assert get(mc, b"x") == b"END\r\n"


def test_storage_line_with_wrong_token_count(mc):
    mc.send(b"set x 0 0 1 noreply extra\r\nx\r\n")
    expect(mc, b"ERROR\r\nERROR\r\n")
    many = b"set x 0 0 1 " + b" ".join(b"%d" % i for i in range(30)) + b"\r\nx\r\n"
    mc.send(many)
    expect(mc, b"ERROR\r\nERROR\r\n")
    mc.send(b"set x 0 0\r\nx\r\n")
    expect(mc, b"ERROR\r\nERROR\r\n")
    assert_quiet(mc)
    assert get(mc, b"x") == b"END\r\n"


def test_retrieval_with_many_tokens(mc):
    keys = [b"a"] * 30 + [b"nx"] * 30
    assert get(mc, *keys) == value_block(b"a", b"old") * 30 + b"END\r\n"
    assert get(mc, *keys, cmd=b"gat 0") == value_block(b"a", b"old") * 30 + b"END\r\n"


@pytest.mark.parametrize("flags,shown", [(b"4294967295", 4294967295), (b"+5", 5), (b"007", 7)])
def test_flags_in_range(mc, flags, shown):
    assert mc.call(b"set f " + flags + b" 0 1\r\nx\r\n") == b"STORED\r\n"
    assert get(mc, b"f") == value_block(b"f", b"x", shown) + b"END\r\n"


@memcached_only_difference("memcached truncates flags >= 2^32 to 32 bits (4294967296 -> 0)")
@pytest.mark.parametrize("flags", [b"4294967296", b"4294967297", b"18446744073709551615"])
def test_flags_of_2_32_or_more_rejected(mc, flags):
    mc.send(b"set f " + flags + b" 0 1\r\nx\r\n")
    expect(mc, BAD_FORMAT + b"ERROR\r\n")  # like every bad command line: data not swallowed
    assert_quiet(mc)
    assert get(mc, b"f") == b"END\r\n"


@memcached_only_difference("memcached truncates bytes to int32 (4294967296 -> 0, waits for data)")
@pytest.mark.parametrize("nbytes", [b"4294967296", b"4294967297", b"8589934593"])
def test_bytes_of_2_32_or_more_rejected(mc, nbytes):
    assert mc.call(b"set f 0 0 " + nbytes + b"\r\n") == BAD_FORMAT
    assert_quiet(mc)
    assert get(mc, b"f") == b"END\r\n"


# --- key characters ------------------------------------------------------------------------

@memcached_only_difference("memcached accepts control characters in keys")
@pytest.mark.parametrize("key", [b"k\x01", b"\x7fk", b"a\x1fb", b"k\x00z"])
def test_keys_with_control_characters_rejected(mc, key):
    mc.send(b"set " + key + b" 0 0 1\r\nx\r\n")
    expect(mc, BAD_FORMAT + b"ERROR\r\n")
    assert mc.call(b"get " + key + b"\r\n") == BAD_FORMAT
    assert mc.call(b"get a " + key + b"\r\n") == BAD_FORMAT
    assert mc.call(b"delete " + key + b"\r\n") == BAD_FORMAT
    assert mc.call(b"incr " + key + b" 1\r\n") == BAD_FORMAT
    assert mc.call(b"touch " + key + b" 1\r\n") == BAD_FORMAT
    assert_quiet(mc)


def test_high_bit_key_bytes_accepted(mc):
    key = b"caf\xc3\xa9-\x80\xff"
    assert store(mc, key, b"v") == b"STORED\r\n"
    assert get(mc, key) == value_block(key, b"v") + b"END\r\n"
    assert mc.call(b"delete " + key + b"\r\n") == b"DELETED\r\n"


# --- exptime edge cases --------------------------------------------------------------------

@pytest.mark.parametrize("exptime", [b"-1", b"-1000", b"4294967295", b"2592001", b"1000000000"])
def test_exptime_that_expires_immediately(mc, exptime):
    # negative; 4294967295 = int32 -1 (pylibmc sends it); >30 days = absolute time in the past
    assert mc.call(b"set e 0 " + exptime + b" 1\r\nx\r\n") == b"STORED\r\n"
    assert get(mc, b"e") == b"END\r\n"
    assert mc.call(b"touch e 0\r\n") == b"NOT_FOUND\r\n"
    assert store(mc, b"e", b"y", cmd=b"add") == b"STORED\r\n"  # the slot is free again


@pytest.mark.parametrize("exptime", [b"0", b"1", b"2592000", b"4294967296", b"+100"])
def test_exptime_that_keeps_item(mc, exptime):
    # 2592000 (30 days) is still relative; 4294967296 truncates to 0 = never
    assert mc.call(b"set e 0 " + exptime + b" 1\r\nx\r\n") == b"STORED\r\n"
    assert get(mc, b"e") == value_block(b"e", b"x") + b"END\r\n"


@pytest.mark.parametrize("line", [b"touch a abc\r\n", b"touch a 1.5\r\n", b"touch a 9x\r\n",
                                  b"gat abc a\r\n", b"gats -x a\r\n", b"flush_all abc\r\n",
                                  b"flush_all 1.5\r\n", b"touch a 99999999999999999999\r\n"])
def test_invalid_exptime_argument(mc, line):
    assert mc.call(line) == BAD_EXPTIME
    assert get(mc, b"a") == A_OLD


def test_bad_exptime_in_storage_is_a_format_error(mc):
    mc.send(b"set a 0 abc 1\r\nx\r\n")
    expect(mc, BAD_FORMAT + b"ERROR\r\n")


# --- over-long lines -----------------------------------------------------------------------

@pytest.mark.parametrize("prefix", [b"", b"set ", b"gat ", b"foo ", b"x" * 101 + b" get "])
def test_long_line_without_newline_closes_connection(shared, prefix):
    c = Conn(shared)
    c.send(prefix + b"a" * 3000)
    assert c.is_closed()
    c.close()


def test_line_limit_is_2048_bytes(shared):
    c = Conn(shared)
    c.send(b"x" * 2048)  # exactly 2048 buffered bytes without a newline: still fine
    assert c.call(b"\r\n") == b"ERROR\r\n"
    c.close()
    c = Conn(shared)
    c.send(b"x" * 2049)
    assert c.is_closed()
    c.close()


@pytest.mark.parametrize("prefix", [b"get ", b"gets ", b" " * 100 + b"get "])
def test_long_get_line_without_newline_is_allowed(shared, prefix):
    c = Conn(shared)
    assert store(c, b"lk", b"v") == b"STORED\r\n"
    c.send(prefix + b"lk " * 1500)  # 4500+ bytes, no newline yet
    c.send(b"\r\n")
    reply = read_retrieval(c)
    assert reply.count(b"VALUE lk 0 1") == 1500 and reply.endswith(b"\r\nv\r\nEND\r\n")
    assert_quiet(c)
    c.close()


def test_long_line_with_newline_is_processed(mc):
    mc.send(b"x" * 3000 + b"\r\nversion\r\n")
    expect(mc, b"ERROR\r\n" + VERSION_LINE)
