#pragma once
// The warm-restart file: a store's live items segment by segment, with what must survive beside
// them (docs/design/snapshot-format.md has the byte layout). Writing goes through <path>.tmp,
// fsync, rename and an fsync of the directory, so <path> is always a whole file, old or new.
// Reading verifies everything (magic, version, settings, a CRC32C per chunk, the directory and
// every item's encoding) and builds a new store, or none: any failure rejects the whole file.
//
// Knows segments and items (through segment_export.h) and nothing of signals or sockets; the
// server decides when to save and what the metadata says. Not thread-safe: one save or load at
// a time per path (the caller serialises).
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "storage/store.h"

namespace cachet::storage {

// What the server keeps beside the items. Times are Unix seconds, except flush_at and
// oldest_live which are server times (seconds since time_base).
struct SnapshotMeta {
  bool clean = false;     // written at a graceful stop, with nothing served meanwhile: exact
  bool consumed = false;  // loaded once already (the server went on from it)
  int64_t save_time = 0;  // the server's clock when written (debug offset included)
  int64_t time_base = 0;  // Unix time of server time 0: restored, so stored times stay valid
  int64_t debug_offset = 0;
  uint32_t flush_at = 0;      // pending delayed flush_all, 0 = none
  uint32_t oldest_live = 0;   // what `stats settings` reports as oldest
  uint64_t memory_limit = 0;  // -m when written (only reported)
  uint64_t item_size_max = 0;
  bool cas_enabled = true;
  // Filled in by SaveSnapshot and LoadSnapshot.
  uint64_t next_epoch = 0;  // above every segment epoch written: later CASes are greater
  uint64_t items = 0;
  uint64_t item_bytes = 0;
  uint32_t segments = 0;
  uint32_t main_segments = 0;
};

struct SaveResult {
  bool ok = false;
  std::string error;  // what failed (the old file is left as it was)
  uint64_t file_bytes = 0;
  uint64_t items = 0;
  uint32_t segments = 0;
};

// Exports `store` (store.h: Export, safe while serving) to `path`. `now` is server time (items
// expired by then are left out); `cancel`, when it becomes true, stops the save (a failure);
// `mode` says what else uses the store meanwhile (segment_export.h).
SaveResult SaveSnapshot(Store& store, const SnapshotMeta& meta, uint32_t now,
                        const std::string& path, const std::atomic<bool>* cancel = nullptr,
                        ExportMode mode = ExportMode::kServing);

// Where a snapshot is read from: a file (FileSource) or memory (tests, the fuzz target).
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual uint64_t size() const = 0;
  // Reads exactly n bytes at `offset`; false on error or end of data.
  virtual bool ReadAt(uint64_t offset, void* dst, size_t n) = 0;
};

class FileSource final : public ByteSource {
 public:
  explicit FileSource(int fd);  // does not own fd
  uint64_t size() const override { return size_; }
  bool ReadAt(uint64_t offset, void* dst, size_t n) override;

 private:
  int fd_;
  uint64_t size_ = 0;
};

class MemorySource final : public ByteSource {
 public:
  MemorySource(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint64_t size() const override { return size_; }
  bool ReadAt(uint64_t offset, void* dst, size_t n) override;

 private:
  const uint8_t* data_;
  size_t size_;
};

struct LoadOptions {
  int64_t unix_now = 0;  // the server's clock now (debug offset included)
  uint64_t item_size_max = 0;
  bool cas_enabled = true;
  // A file that is not a clean stop's (an online snapshot, or one loaded before: the server
  // may have changed things since) loads only when at most this old; < 0: never.
  int64_t restore_unclean_max_age = -1;
  // The test clock (CACHET_DEBUGTIME) goes on from where it was: unix_now is taken as
  // unix_now plus the offset the file was saved with.
  bool add_saved_debug_offset = false;
  bool verify_checksums = true;  // false only to fuzz what lies behind them
  int index_threads = 2;         // the index is rebuilt by this many threads
};

struct LoadResult {
  std::unique_ptr<Store> store;  // null when rejected
  std::string reason;            // why rejected (one line)
  SnapshotMeta meta;             // as read (valid when loaded)
  uint64_t loaded_items = 0;
  uint64_t expired_items = 0;  // their time passed while the server was down
  uint64_t dropped_items = 0;  // in segments that did not fit a smaller -m
  uint32_t loaded_segments = 0;
  uint32_t dropped_segments = 0;
};

// Reads and verifies a snapshot into a new store built with `config`.
LoadResult LoadSnapshot(ByteSource& source, const StoreConfig& config, const LoadOptions& options);

// Records in the file's header that it was loaded (then fsyncs), so that after a crash it is no
// longer taken for an exact copy. False with *error on failure.
bool MarkSnapshotConsumed(int fd, std::string* error);

// The magic a snapshot starts with, for telling other files (memcached's -e) apart.
inline constexpr char kSnapshotMagic[8] = {'C', 'A', 'C', 'H', 'E', 'T', 'S', 'N'};

}  // namespace cachet::storage
