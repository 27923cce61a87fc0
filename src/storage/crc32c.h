#pragma once
// CRC32C (Castagnoli, as iSCSI, ext4 and RocksDB use), through ISA-L: it picks the fastest code
// for the processor at run time (SSE4.2 crc32 with PCLMUL folding on x86) and has a portable
// fallback.
#include <cstddef>
#include <cstdint>

namespace cachet::storage {

// The CRC32C of `n` bytes, continuing from `crc` (the result of the bytes before; 0 to start):
// Crc32c(b, Crc32c(a)) == Crc32c(a followed by b).
uint32_t Crc32c(const void* data, size_t n, uint32_t crc = 0);

}  // namespace cachet::storage
