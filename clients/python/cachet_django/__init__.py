"""cachet_django: a Django cache backend for cachet, the memcached-compatible server.

`CachetCache` is Django's PyMemcacheCache (so every stock method behaves as Django's, over TCP,
Unix sockets and lists of servers) plus what cachet adds, with django-redis's names where they
exist: `delete_prefix`, `delete_pattern`, `keys`, `iter_keys`, `ttl`, `expire`, `expire_at`,
`persist`, `clear(prefix_only=True)`, `set(nx=, xx=)`, `incr(create=True)`, `lock()`, a
stampede-safe `get_or_set` (one caller computes a missing value, the others wait for it), and
OPTIONS `SERIALIZER` (pickle, json, msgpack), `COMPRESSOR` (zlib, lzma, zstd),
`COMPRESS_MIN_LEN` and `IGNORE_EXCEPTIONS`. The extras speak cachet's commands over pymemcache's
own sockets, one node at a time; prefix deletes, key listings and clears fan out to every node.
"""
import fnmatch
import time
import urllib.parse
import uuid

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.memcached import PyMemcacheCache

from . import serde as _serde

__all__ = ["CachetCache", "NodeError"]


class NodeError(Exception):
    """A node failed an extra command; the message names the node."""


def _is_prefix_glob(pattern):
    """'abc*' (one trailing star, no other wildcard) is a prefix; anything else is not."""
    head = pattern[:-1]
    return pattern.endswith("*") and not any(c in head for c in "*?[]\\")


class CachetCache(PyMemcacheCache):
    """Django's PyMemcacheCache with cachet's extras (see the module docstring)."""

    def __init__(self, server, params):
        super().__init__(server, params)
        serde = _serde.from_options(self._options)  # takes cachet_django's own OPTIONS out
        if serde is not None:
            self._options["serde"] = serde
        if self._options.pop("IGNORE_EXCEPTIONS", False):  # django-redis's name for it
            self._options["ignore_exc"] = True

    # ----------------------------------------------------------------- nodes and raw commands

    def _nodes(self):
        """(name, pymemcache Client) of every configured node, connected on first use."""
        return list(self._cache.clients.items())

    def _command(self, name, client, line):
        """One command line on `client`; returns its first reply line."""
        try:
            return client._misc_cmd([line], line.split(b" ", 1)[0], False)[0]
        except Exception as e:  # noqa: BLE001 - the caller decides; the node is named
            if self._options.get("ignore_exc"):
                return None
            raise NodeError(f"cachet node {name}: {e}") from e

    def _stream(self, name, client, line, end=b"END"):
        """Sends `line` and yields the reply's lines up to `end`, read as they arrive."""
        try:
            if client.sock is None:
                client._connect()
            client.sock.sendall(line)
            buf = b""
            while True:
                chunk = client.sock.recv(1 << 16)
                if not chunk:
                    raise ConnectionError("connection closed")
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for one in lines:
                    one = one[:-1] if one.endswith(b"\r") else one  # metadump ends lines in \n
                    if one == end:
                        return
                    if one.startswith((b"CLIENT_ERROR", b"SERVER_ERROR", b"ERROR")):
                        raise ConnectionError(one.decode(errors="replace"))
                    yield one
        except Exception as e:  # noqa: BLE001
            client.close()
            if self._options.get("ignore_exc"):
                return
            raise NodeError(f"cachet node {name}: {e}") from e

    def _client_for(self, full_key):
        return self._cache._get_client(full_key)

    # ----------------------------------------------------------------------- prefix deletes

    def delete_prefix(self, prefix, version=None, stale=False, wait=True):
        """Drops every key that starts with `prefix` (after KEY_PREFIX and version, as
        make_key builds them) on every node, in O(1) per node (cachet's `mp`); with `stale`
        marks them stale instead (meta readers recompute one at a time). With `wait` (the
        default) each node answers once its sweep is done and the count of keys is returned
        (a node whose crawler is off only answers at its next flush_all); without, the keys
        are gone at once all the same and the count of nodes is returned."""
        return self._flush_prefix(self.make_key(prefix, version=version), stale, wait)

    def _flush_prefix(self, full, stale=False, wait=True):
        line = b"mp " + full.encode() + (b" I" if stale else b"") + (b" w" if wait else b"")
        total = 0
        for name, client in self._nodes():
            reply = self._command(name, client, line + b"\r\n")
            if reply is None or not reply.startswith(b"HD"):
                continue
            counts = [int(t[1:]) for t in reply.split()[1:] if t.startswith(b"n")]
            total += counts[0] if wait and counts else 1
        return total

    def delete_pattern(self, pattern, version=None):
        """django-redis's delete_pattern: a prefix glob ('user:*') becomes delete_prefix; any
        other glob lists the keys and deletes each. Returns how many keys were deleted."""
        if _is_prefix_glob(pattern):
            return self.delete_prefix(pattern[:-1], version=version)
        keys = list(self.iter_keys(pattern, version=version))
        if keys:
            self.delete_many(keys, version=version)
        return len(keys)

    def clear(self, prefix_only=False):
        """Django's clear() flushes every node; with prefix_only only this cache's KEY_PREFIX
        (and every version) goes."""
        if prefix_only and self.key_prefix:
            return self._flush_prefix(self.key_prefix + ":", wait=False)
        return super().clear()

    # ------------------------------------------------------------------------- key listing

    def iter_keys(self, pattern="*", version=None):
        """Every key matching the glob, as the caller spelt it (without KEY_PREFIX or
        version), streamed from each node's `lru_crawler metadump all`."""
        version = self.version if version is None else version
        head = self.make_key("", version=version)
        for name, client in self._nodes():
            for line in self._stream(name, client, b"lru_crawler metadump all\r\n"):
                if not line.startswith(b"key="):
                    continue
                raw = urllib.parse.unquote_to_bytes(line[4:line.find(b" ")]).decode(
                    errors="replace")
                if raw.startswith(head) and fnmatch.fnmatchcase(raw[len(head):], pattern):
                    yield raw[len(head):]

    def keys(self, pattern="*", version=None):
        return list(self.iter_keys(pattern, version=version))

    # ------------------------------------------------------------------------ TTL handling

    def ttl(self, key, version=None):
        """Seconds left; None for a key without expiry; 0 when missing (django-redis's)."""
        full = self.make_key(key, version=version)
        self.validate_key(full)
        client = self._client_for(full)
        line = self._command(str(client.server), client, b"mg " + full.encode() + b" t\r\n")
        if line is None or not line.startswith(b"HD"):
            return 0
        for token in line.split()[1:]:
            if token.startswith(b"t"):
                left = int(token[1:])
                return None if left < 0 else left
        return 0

    def expire(self, key, timeout, version=None):
        """Sets a new timeout (Django's rules: 0 expires now, None never); False if missing."""
        return self.touch(key, timeout, version=version)

    def expire_at(self, key, when, version=None):
        """Expires the key at `when` (a datetime, aware or local, or a Unix time); False if
        missing. A time already past deletes it."""
        at = when.timestamp() if hasattr(when, "timestamp") else float(when)
        left = int(at - time.time())
        if left <= 0:
            return bool(self.delete(key, version=version))
        return self.expire(key, left, version=version)

    def persist(self, key, version=None):
        """Removes the key's expiry; False if missing."""
        return self.touch(key, None, version=version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return super().touch(key, timeout, version=version)

    # -------------------------------------------------------------- stampede-safe get_or_set

    def get_or_set(self, key, default, timeout=DEFAULT_TIMEOUT, version=None, stale_ttl=None,
                   wait=5.0, lock_ttl=30):
        """Django's get_or_set, without a stampede: on a miss exactly one caller computes
        `default` (the one whose `add` of a lock key beside the key, on the key's node,
        succeeds); the others poll for its value, up to `wait` seconds, then compute it
        themselves. Readers of the key never see a placeholder. A winner that dies holds the
        lock `lock_ttl` seconds at most. With `stale_ttl`, once the value has less than that
        left to live, one caller (meta's recache win, R/W) recomputes it early while the
        others keep getting the current value."""
        missing = self._missing_key
        if stale_ttl:
            value = self._get_or_recache(key, default, timeout, version, stale_ttl)
        else:
            value = self.get(key, missing, version=version)
        if value is not missing:
            return value
        full = self.make_key(key, version=version)
        lock = full + ":cachet-lock"
        if len(lock) > 250:  # no room for the lock key: Django's own behaviour
            return super().get_or_set(key, default, timeout, version)
        client = self._client_for(full)
        deadline = time.monotonic() + wait
        while True:
            if client.add(lock, b"1", expire=lock_ttl, noreply=False):
                try:
                    # The previous winner may have stored it just before releasing the lock.
                    value = self.get(key, missing, version=version)
                    if value is not missing:
                        return value
                    value = default() if callable(default) else default
                    # As Django's: None is stored too, and a value added meanwhile wins.
                    self.add(key, value, timeout, version)
                    return self.get(key, value, version=version)
                finally:
                    client.delete(lock, noreply=False)
            time.sleep(0.005)  # someone else computes: poll for its value
            value = self.get(key, missing, version=version)
            if value is not missing:
                return value
            if time.monotonic() > deadline:
                return super().get_or_set(key, default, timeout, version)

    def _get_or_recache(self, key, default, timeout, version, stale_ttl):
        """mg with R: the current value, or `default` computed and stored by the one caller the
        server hands the recache win; _missing_key on a miss."""
        full = self.make_key(key, version=version)
        self.validate_key(full)
        client = self._client_for(full)
        tokens, data = self._meta(client, b"mg %s v f R%d\r\n" % (full.encode(), stale_ttl))
        if tokens[0] != b"VA":
            return self._missing_key
        flags = {t[:1]: t[1:] for t in tokens[2:]}
        if b"W" not in flags:
            return client.serde.deserialize(full, data, int(flags.get(b"f") or 0))
        value = default() if callable(default) else default
        self.set(key, value, timeout, version)
        return value

    def _meta(self, client, line):
        """One meta command on `client`'s socket: (the reply line's tokens, its value or None)."""
        try:
            if client.sock is None:
                client._connect()
            client.sock.sendall(line)
            buf = b""
            while b"\r\n" not in buf:
                buf += _recv(client.sock)
            head, buf = buf.split(b"\r\n", 1)
            tokens = head.split() or [b""]
            if tokens[0] == b"VA":
                need = int(tokens[1]) + 2
                while len(buf) < need:
                    buf += _recv(client.sock)
                return tokens, buf[:need - 2]
            if tokens[0] in (b"CLIENT_ERROR", b"SERVER_ERROR", b"ERROR", b""):
                raise ConnectionError(head.decode(errors="replace"))
            return tokens, None
        except Exception as e:  # noqa: BLE001
            client.close()
            raise NodeError(f"cachet node {client.server}: {e}") from e

    # ------------------------------------------------------------- django-redis's set/incr

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None, nx=False, xx=False):
        """Django's set; nx: only if missing (add), xx: only if present (replace); with either,
        True when stored."""
        if nx and xx:
            raise ValueError("nx and xx exclude each other")
        if nx:
            return self.add(key, value, timeout, version)
        if xx:
            full = self.make_key(key, version=version)
            self.validate_key(full)
            return bool(self._cache.replace(full, value, self.get_backend_timeout(timeout),
                                            noreply=False))
        return super().set(key, value, timeout, version)

    def incr(self, key, delta=1, version=None, create=False):
        """Django's incr; with create, a missing key starts at `delta` (with the default
        timeout) instead of raising. An existing key keeps its TTL either way."""
        try:
            return super().incr(key, delta, version)
        except ValueError:
            if not create:
                raise
        if self.add(key, delta, version=version):
            return delta
        return super().incr(key, delta, version)  # someone else created it meanwhile

    # -------------------------------------------------------------------------------- locks

    def lock(self, key, timeout=None, sleep=0.05, blocking_timeout=None, version=None):
        """A lock held in the cache under `key` (django-redis's lock()). Acquired with an add,
        released only by its holder (a delete compared on the CAS the holder saw). A cache can
        evict or flush it: use it against stampedes, not for correctness."""
        return Lock(self, key, timeout, sleep, blocking_timeout, version)


def _recv(sock):
    chunk = sock.recv(1 << 16)
    if not chunk:
        raise ConnectionError("connection closed")
    return chunk


class Lock:
    """See CachetCache.lock; a context manager too."""

    def __init__(self, cache, key, timeout, sleep, blocking_timeout, version):
        self.cache, self.key, self.version = cache, key, version
        self.timeout, self.sleep, self.blocking_timeout = timeout, sleep, blocking_timeout
        self.token = None

    def acquire(self, blocking=True, blocking_timeout=None):
        token = uuid.uuid4().hex
        wait = self.blocking_timeout if blocking_timeout is None else blocking_timeout
        deadline = None if wait is None else time.monotonic() + wait
        while True:
            if self.cache.add(self.key, token, self.timeout, self.version):
                self.token = token
                return True
            if not blocking or (deadline is not None and time.monotonic() >= deadline):
                return False
            time.sleep(self.sleep)  # polling the holder's release

    def release(self):
        """False when the lock was not ours any more (expired, evicted or taken over)."""
        if self.token is None:
            return False
        token, self.token = self.token, None
        full = self.cache.make_key(self.key, version=self.version)
        client = self.cache._client_for(full)
        value, cas = client.gets(full)
        if value != token or cas is None:
            return False
        line = self.cache._command(str(client.server), client,
                                   b"md " + full.encode() + b" C" + cas + b"\r\n")
        return line == b"HD"

    def locked(self):
        return self.cache.get(self.key, version=self.version) is not None

    def __enter__(self):
        if not self.acquire():
            raise TimeoutError(f"lock {self.key!r} not acquired")
        return self

    def __exit__(self, *exc):
        self.release()
