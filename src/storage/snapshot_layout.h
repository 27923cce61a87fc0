#pragma once
// The byte layout of a snapshot file (docs/design/snapshot-format.md), little-endian throughout:
//
//   file header (256 bytes, CRC32C of its first 252 in its last 4)
//   chunk per segment: chunk header (128 bytes, own CRC32C) + payload (runs, item bytes, states;
//                      CRC32C in the chunk header)
//   directory: one entry per chunk, items per index shard, CRC32C
//
// Encoding and decoding only: every decoder checks lengths before it reads and reports what is
// wrong; the loader (snapshot_load.cc) checks how the pieces fit together.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "storage/segment_pool.h"

namespace cachet::storage::snapshot_layout {

inline constexpr uint32_t kVersion = 1;
inline constexpr size_t kHeaderBytes = 256;
inline constexpr size_t kChunkHeaderBytes = 128;
inline constexpr uint32_t kFlagClean = 1u << 0;
inline constexpr uint32_t kFlagConsumed = 1u << 1;
inline constexpr uint8_t kChunkHasStates = 1u << 0;
inline constexpr size_t kDirectoryEntryBytes = 24;
// Where the header's flags live (MarkSnapshotConsumed rewrites them in place).
inline constexpr size_t kFlagsOffset = 16;

struct FileHeader {
  uint32_t version = kVersion;
  uint32_t flags = 0;
  uint32_t shard_count = 0;
  uint32_t cas_enabled = 1;
  uint64_t segment_size = 0;
  uint64_t item_size_max = 0;
  int64_t save_time = 0;
  int64_t time_base = 0;
  int64_t debug_offset = 0;
  uint64_t next_epoch = 0;
  uint32_t flush_at = 0;
  uint32_t oldest_live = 0;
  uint64_t items = 0;
  uint64_t item_bytes = 0;
  uint32_t segments = 0;
  uint32_t main_segments = 0;
  uint64_t directory_offset = 0;
  uint64_t directory_bytes = 0;
  uint64_t file_bytes = 0;
  uint64_t memory_limit = 0;
};

// Fills out[0..kHeaderBytes) including the checksum.
void EncodeFileHeader(const FileHeader& h, uint8_t* out);
// Empty string when fine; otherwise why not ("not a cachet snapshot", ...).
std::string DecodeFileHeader(const uint8_t* in, bool verify_checksum, FileHeader* h);

struct ChunkHeader {
  uint32_t index = 0;  // position among the file's chunks
  uint8_t queue = 0;   // SegmentPool::Queue
  uint8_t flags = 0;
  uint32_t used = 0;  // the segment's bytes up to the end of its last item
  uint64_t epoch = 0;
  uint32_t items = 0;
  uint32_t runs = 0;
  uint32_t runs_bytes = 0;
  uint32_t data_bytes = 0;
  uint32_t state_bytes = 0;
  uint32_t payload_crc = 0;
  SegmentPool::TimeMarks times;
  uint64_t payload_bytes() const { return uint64_t{runs_bytes} + data_bytes + state_bytes; }
};

void EncodeChunkHeader(const ChunkHeader& h, uint8_t* out);
std::string DecodeChunkHeader(const uint8_t* in, bool verify_checksum, ChunkHeader* h);

struct DirectoryEntry {
  uint64_t offset = 0;  // of the chunk header
  uint32_t chunk_bytes = 0;
  uint32_t items = 0;
  uint8_t queue = 0;
};

inline uint64_t DirectoryBytes(uint64_t entries, uint64_t shards) {
  return 16 + entries * kDirectoryEntryBytes + shards * 4 + 4;
}
void EncodeDirectory(const std::vector<DirectoryEntry>& entries,
                     const std::vector<uint32_t>& shard_items, std::vector<uint8_t>* out);
std::string DecodeDirectory(const uint8_t* in, size_t n, bool verify_checksum,
                            std::vector<DirectoryEntry>* entries,
                            std::vector<uint32_t>* shard_items);

// Runs of a segment: live items lie in runs of back-to-back items; the table stores each as
// (gap from the previous run's end, length), both varints.
void PutVarint(std::vector<uint8_t>* out, uint64_t v);
// nullptr on a malformed or overlong varint (or the end of [p, end)).
const uint8_t* GetVarint(const uint8_t* p, const uint8_t* end, uint64_t* v);

}  // namespace cachet::storage::snapshot_layout
