#include "storage/snapshot_layout.h"

#include <cstring>

#include "storage/crc32c.h"
#include "storage/snapshot_file.h"

namespace cachet::storage::snapshot_layout {
namespace {

constexpr char kChunkMagic[4] = {'S', 'E', 'G', 'M'};
constexpr char kDirectoryMagic[8] = {'C', 'A', 'C', 'H', 'E', 'T', 'D', 'R'};

void Put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void Put64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t Get32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{p[i]} << (8 * i);
  return v;
}
uint64_t Get64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}

}  // namespace

void EncodeFileHeader(const FileHeader& h, uint8_t* out) {
  std::memset(out, 0, kHeaderBytes);
  std::memcpy(out, kSnapshotMagic, 8);
  Put32(out + 8, h.version);
  Put32(out + 12, static_cast<uint32_t>(kHeaderBytes));
  Put32(out + kFlagsOffset, h.flags);
  Put32(out + 20, h.shard_count);
  Put64(out + 24, h.segment_size);
  Put64(out + 32, h.item_size_max);
  Put32(out + 40, h.cas_enabled);
  Put64(out + 48, static_cast<uint64_t>(h.save_time));
  Put64(out + 56, static_cast<uint64_t>(h.time_base));
  Put64(out + 64, static_cast<uint64_t>(h.debug_offset));
  Put64(out + 72, h.next_epoch);
  Put32(out + 80, h.flush_at);
  Put32(out + 84, h.oldest_live);
  Put64(out + 88, h.items);
  Put64(out + 96, h.item_bytes);
  Put32(out + 104, h.segments);
  Put32(out + 108, h.main_segments);
  Put64(out + 112, h.directory_offset);
  Put64(out + 120, h.directory_bytes);
  Put64(out + 128, h.file_bytes);
  Put64(out + 136, h.memory_limit);
  Put32(out + kHeaderBytes - 4, Crc32c(out, kHeaderBytes - 4));
}

std::string DecodeFileHeader(const uint8_t* in, bool verify_checksum, FileHeader* h) {
  if (std::memcmp(in, kSnapshotMagic, 8) != 0) return "not a cachet snapshot";
  h->version = Get32(in + 8);
  if (h->version != kVersion) {
    return "unknown format version " + std::to_string(h->version);
  }
  if (verify_checksum && Crc32c(in, kHeaderBytes - 4) != Get32(in + kHeaderBytes - 4)) {
    return "header checksum mismatch";
  }
  if (Get32(in + 12) != kHeaderBytes) return "bad header size";
  h->flags = Get32(in + kFlagsOffset);
  h->shard_count = Get32(in + 20);
  h->segment_size = Get64(in + 24);
  h->item_size_max = Get64(in + 32);
  h->cas_enabled = Get32(in + 40);
  h->save_time = static_cast<int64_t>(Get64(in + 48));
  h->time_base = static_cast<int64_t>(Get64(in + 56));
  h->debug_offset = static_cast<int64_t>(Get64(in + 64));
  h->next_epoch = Get64(in + 72);
  h->flush_at = Get32(in + 80);
  h->oldest_live = Get32(in + 84);
  h->items = Get64(in + 88);
  h->item_bytes = Get64(in + 96);
  h->segments = Get32(in + 104);
  h->main_segments = Get32(in + 108);
  h->directory_offset = Get64(in + 112);
  h->directory_bytes = Get64(in + 120);
  h->file_bytes = Get64(in + 128);
  h->memory_limit = Get64(in + 136);
  if ((h->flags & ~(kFlagClean | kFlagConsumed)) != 0) return "unknown header flags";
  if (h->cas_enabled > 1) return "bad header field (cas)";
  return "";
}

void EncodeChunkHeader(const ChunkHeader& h, uint8_t* out) {
  std::memset(out, 0, kChunkHeaderBytes);
  std::memcpy(out, kChunkMagic, 4);
  Put32(out + 4, h.index);
  out[8] = h.queue;
  out[9] = h.flags;
  out[10] = static_cast<uint8_t>(h.times.count);
  Put32(out + 12, h.used);
  Put64(out + 16, h.epoch);
  Put32(out + 24, h.items);
  Put32(out + 28, h.runs);
  Put32(out + 32, h.runs_bytes);
  Put32(out + 36, h.data_bytes);
  Put32(out + 40, h.state_bytes);
  Put32(out + 44, h.payload_crc);
  for (size_t i = 0; i < SegmentPool::kTimeMarks; ++i) {
    Put32(out + 48 + 8 * i, h.times.offset[i]);
    Put32(out + 52 + 8 * i, h.times.time[i]);
  }
  Put32(out + kChunkHeaderBytes - 4, Crc32c(out, kChunkHeaderBytes - 4));
}

std::string DecodeChunkHeader(const uint8_t* in, bool verify_checksum, ChunkHeader* h) {
  if (std::memcmp(in, kChunkMagic, 4) != 0) return "bad chunk magic";
  if (verify_checksum && Crc32c(in, kChunkHeaderBytes - 4) != Get32(in + kChunkHeaderBytes - 4)) {
    return "chunk header checksum mismatch";
  }
  h->index = Get32(in + 4);
  h->queue = in[8];
  h->flags = in[9];
  h->times.count = in[10];
  h->used = Get32(in + 12);
  h->epoch = Get64(in + 16);
  h->items = Get32(in + 24);
  h->runs = Get32(in + 28);
  h->runs_bytes = Get32(in + 32);
  h->data_bytes = Get32(in + 36);
  h->state_bytes = Get32(in + 40);
  h->payload_crc = Get32(in + 44);
  for (size_t i = 0; i < SegmentPool::kTimeMarks; ++i) {
    h->times.offset[i] = Get32(in + 48 + 8 * i);
    h->times.time[i] = Get32(in + 52 + 8 * i);
  }
  if (h->queue > 1) return "bad chunk queue";
  if ((h->flags & ~kChunkHasStates) != 0) return "unknown chunk flags";
  if (h->times.count > SegmentPool::kTimeMarks) return "bad time marks";
  for (uint32_t i = 1; i < h->times.count; ++i) {
    if (h->times.offset[i] < h->times.offset[i - 1]) return "bad time marks";
  }
  return "";
}

void EncodeDirectory(const std::vector<DirectoryEntry>& entries,
                     const std::vector<uint32_t>& shard_items, std::vector<uint8_t>* out) {
  out->assign(DirectoryBytes(entries.size(), shard_items.size()), 0);
  uint8_t* p = out->data();
  std::memcpy(p, kDirectoryMagic, 8);
  Put32(p + 8, static_cast<uint32_t>(entries.size()));
  Put32(p + 12, static_cast<uint32_t>(shard_items.size()));
  p += 16;
  for (const DirectoryEntry& e : entries) {
    Put64(p, e.offset);
    Put32(p + 8, e.chunk_bytes);
    Put32(p + 12, e.items);
    p[16] = e.queue;
    p += kDirectoryEntryBytes;
  }
  for (const uint32_t n : shard_items) {
    Put32(p, n);
    p += 4;
  }
  Put32(p, Crc32c(out->data(), out->size() - 4));
}

std::string DecodeDirectory(const uint8_t* in, size_t n, bool verify_checksum,
                            std::vector<DirectoryEntry>* entries,
                            std::vector<uint32_t>* shard_items) {
  if (n < DirectoryBytes(0, 0) || std::memcmp(in, kDirectoryMagic, 8) != 0) {
    return "bad directory magic";
  }
  const uint32_t count = Get32(in + 8);
  const uint32_t shards = Get32(in + 12);
  if (DirectoryBytes(count, shards) != n) return "bad directory size";
  if (verify_checksum && Crc32c(in, n - 4) != Get32(in + n - 4)) {
    return "directory checksum mismatch";
  }
  entries->resize(count);
  const uint8_t* p = in + 16;
  for (DirectoryEntry& e : *entries) {
    e.offset = Get64(p);
    e.chunk_bytes = Get32(p + 8);
    e.items = Get32(p + 12);
    e.queue = p[16];
    if (e.queue > 1) return "bad directory entry";
    p += kDirectoryEntryBytes;
  }
  shard_items->resize(shards);
  for (uint32_t& s : *shard_items) {
    s = Get32(p);
    p += 4;
  }
  return "";
}

void PutVarint(std::vector<uint8_t>* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<uint8_t>(v));
}

const uint8_t* GetVarint(const uint8_t* p, const uint8_t* end, uint64_t* v) {
  uint64_t r = 0;
  for (int i = 0; i < 5 && p < end; ++i) {  // run offsets and lengths fit 32 bits
    const uint8_t b = *p++;
    r |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      if (b == 0 && i > 0) return nullptr;
      *v = r;
      return p;
    }
  }
  return nullptr;
}

}  // namespace cachet::storage::snapshot_layout
