"""Serializers and compressors as django-redis offers them, as a pymemcache serde.

Left at the defaults (pickle, no compressor) the backend keeps pymemcache's own serde, so the
stock PyMemcacheCache reads what cachet_django writes and the other way round. Otherwise values
carry flag bits of their own, above pymemcache's (bits 0-4), and anything without them is read
as pymemcache wrote it.
"""
import json
import lzma
import pickle
import zlib

from pymemcache import serde as pm

FLAG_JSON = 1 << 8
FLAG_MSGPACK = 1 << 9
FLAG_PICKLED = 1 << 10
FLAG_ZLIB = 1 << 12
FLAG_LZMA = 1 << 13
FLAG_ZSTD = 1 << 14
_COMPRESSED = FLAG_ZLIB | FLAG_LZMA | FLAG_ZSTD


def _msgpack():
    import msgpack  # Debian's python3-msgpack, when installed
    return msgpack


def _zstd():
    import zstandard  # Debian's python3-zstandard, when installed
    return zstandard


SERIALIZERS = {
    "pickle": (FLAG_PICKLED, lambda v: pickle.dumps(v, pickle.HIGHEST_PROTOCOL), pickle.loads),
    "json": (FLAG_JSON, lambda v: json.dumps(v, separators=(",", ":")).encode(), json.loads),
    "msgpack": (FLAG_MSGPACK, lambda v: _msgpack().packb(v, use_bin_type=True),
                lambda b: _msgpack().unpackb(b, raw=False)),
}
COMPRESSORS = {
    "zlib": (FLAG_ZLIB, zlib.compress, zlib.decompress),
    "lzma": (FLAG_LZMA, lzma.compress, lzma.decompress),
    "zstd": (FLAG_ZSTD, lambda b: _zstd().ZstdCompressor().compress(b),
             lambda b: _zstd().ZstdDecompressor().decompress(b)),
}


class Serde:
    """pymemcache's serde interface: serialize(key, value) -> (bytes, flags) and back."""

    def __init__(self, serializer="pickle", compressor=None, min_length=1024):
        if serializer not in SERIALIZERS:
            raise ValueError(f"SERIALIZER must be one of {sorted(SERIALIZERS)}")
        if compressor is not None and compressor not in COMPRESSORS:
            raise ValueError(f"COMPRESSOR must be one of {sorted(COMPRESSORS)}")
        if serializer == "msgpack":
            _msgpack()  # fail at configuration time, not at the first set
        if compressor == "zstd":
            _zstd()
        self.serializer = SERIALIZERS[serializer]
        self.compressor = COMPRESSORS[compressor] if compressor else None
        self.min_length = min_length

    def serialize(self, key, value):
        # Integers stay pymemcache's, so that incr/decr work on them.
        if type(value) is int:
            return pm.python_memcache_serializer(key, value)
        flag, dump, _ = self.serializer
        data, flags = dump(value), flag
        if self.compressor and len(data) >= self.min_length:
            cflag, compress, _ = self.compressor
            data, flags = compress(data), flags | cflag
        return data, flags

    def deserialize(self, key, value, flags):
        if flags & _COMPRESSED:
            for cflag, _, decompress in COMPRESSORS.values():
                if flags & cflag:
                    value = decompress(value)
        for flag, _, load in SERIALIZERS.values():
            if flags & flag:
                return load(value)
        return pm.python_memcache_deserializer(key, value, flags)


def from_options(options):
    """The serde OPTIONS ask for (popping cachet_django's keys), or None for pymemcache's."""
    serializer = options.pop("SERIALIZER", "pickle")
    compressor = options.pop("COMPRESSOR", None)
    min_length = options.pop("COMPRESS_MIN_LEN", 1024)
    if serializer == "pickle" and compressor is None:
        return None
    return Serde(serializer, compressor, min_length)
