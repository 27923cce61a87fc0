#pragma once
// What a snapshot sees of the store, and gives back to it: segments with their live items, in
// the item format of item_format.h. The store walks and restores segments (store_snapshot.cc);
// the file format around them (snapshot_file.h) knows nothing else of the store.
#include <cstdint>

#include "storage/segment_pool.h"

namespace cachet::storage {

// An item's index state bits as a snapshot keeps them (HashIndex's accessed, fetched, stale and
// token bits, in a fixed order independent of the index's layout).
namespace item_state {
inline constexpr uint8_t kAccessed = 1u << 0;
inline constexpr uint8_t kFetched = 1u << 1;
inline constexpr uint8_t kStale = 1u << 2;
inline constexpr uint8_t kToken = 1u << 3;
inline constexpr uint8_t kAll = kAccessed | kFetched | kStale | kToken;
}  // namespace item_state

struct ExportedSegment {
  SegmentPool::Queue queue;
  uint64_t epoch;  // the CAS of an item without a stored one is (epoch << shift) | offset
  SegmentPool::TimeMarks times;
};

struct ExportedItem {
  uint32_t offset;  // within the segment
  const uint8_t* bytes;
  uint32_t size;
  uint8_t state;   // item_state bits
  uint32_t shard;  // the index shard it belongs to (for sizing the index on restore)
};

// What else goes on while a store is exported.
enum class ExportMode {
  kServing,  // workers read and write meanwhile (an online snapshot)
  // Nothing else uses the store until the export returns (the save at a stop): fewer, larger
  // index passes (up to 80 MiB of scratch instead of 20), and an item's bytes stay valid after
  // AddItem until the export ends, so a sink may keep pointers instead of copying.
  kStopped,
  // As kStopped, and the store is destroyed after: each segment's memory goes back to the
  // kernel once its EndSegment returned, so a save to tmpfs fills its file with the cache's own
  // pages instead of as much memory again.
  kFinal,
};

// Receives a Store::Export().
class SegmentSink {
 public:
  virtual ~SegmentSink() = default;
  // With the segment held still (no eviction runs meanwhile): its description, then its live
  // items in offset order. AddItem runs under the item's shard lock: copy, nothing more.
  virtual void BeginSegment(const ExportedSegment& segment) = 0;
  virtual void AddItem(const ExportedItem& item) = 0;
  // After the store let go of the segment (I/O is fine here). False stops the export.
  virtual bool EndSegment() = 0;
};

}  // namespace cachet::storage
