#pragma once
// The memory arena: one anonymous mapping cut into equal segments, each filled front to back by
// one writer and then sealed into one of two FIFOs that eviction takes from the old end: the
// probation queue (new items, written by the worker threads) and the main queue (items that were
// read while on probation, moved there by eviction).
//
// A location is a byte offset into the arena (segment i starts at kArenaHeader + i * size), so
// the hash index stores locations instead of pointers in fewer bits. Each time a segment is
// handed out for writing it gets a new epoch; an item's CAS is (epoch << log2(size)) | offset, so
// every version ever written has a distinct CAS without storing one.
//
// Threading: all methods lock the pool's mutex; callers must not hold a Store shard lock when
// calling (lock order: eviction mutex -> shard lock; the pool mutex is a leaf).
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "common/mutex.h"

namespace cachet::storage {

class SegmentPool {
 public:
  static constexpr uint64_t kArenaHeader = 64;  // keeps location 0 unused
  static constexpr uint32_t kNoSegment = ~uint32_t{0};

  enum class Queue : uint8_t { kProbation = 0, kMain = 1 };
  struct Sealed {
    uint32_t segment;
    uint32_t used;
  };

  // `memory_limit` bytes are shared by segments and the hash index (index_bytes); at least
  // `min_segments` segments exist whatever the limit.
  SegmentPool(size_t memory_limit, size_t segment_size, size_t min_segments);
  ~SegmentPool();
  SegmentPool(const SegmentPool&) = delete;
  SegmentPool& operator=(const SegmentPool&) = delete;

  uint8_t* At(uint64_t location) const { return base_ + location; }
  uint64_t SegmentStart(uint32_t segment) const {
    return kArenaHeader + static_cast<uint64_t>(segment) * segment_size_;
  }
  uint32_t SegmentOf(uint64_t location) const {
    return static_cast<uint32_t>((location - kArenaHeader) >> segment_shift_);
  }
  uint64_t CasOf(uint64_t location) const {
    const uint32_t seg = SegmentOf(location);
    return (epochs_[seg].load(std::memory_order_relaxed) << segment_shift_) |
           ((location - kArenaHeader) & (segment_size_ - 1));
  }
  size_t segment_size() const { return segment_size_; }

  // Write times, without a per-item field: each segment keeps a few (offset, second) marks,
  // one per second in which its writer wrote. An item's write time is the last mark at or
  // before its offset — exact while a segment fills within kTimeMarks distinct seconds, a
  // lower bound after. The meta protocol's "last access" (mg l, me la) derives from it.
  static constexpr size_t kTimeMarks = 8;
  struct TimeMarks {
    uint32_t count = 0;
    uint32_t offset[kTimeMarks] = {};
    uint32_t time[kTimeMarks] = {};
  };
  void ResetTimes(uint32_t segment, uint32_t now);
  void NoteWrite(uint32_t segment, uint32_t offset, uint32_t now);  // by the segment's writer
  uint32_t WrittenAt(uint64_t location) const;
  // The first write time of the oldest sealed segment (0 if none): the age of the oldest data.
  uint32_t OldestWriteTime() const;
  size_t segment_count() const { return segment_count_; }
  int location_bits() const { return location_bits_; }

  // A never-used or released segment, with a fresh epoch, if the budget allows one more.
  std::optional<uint32_t> TakeFree();
  // The oldest sealed segment of a queue, removed from it.
  std::optional<Sealed> TakeOldest(Queue queue);
  size_t sealed_count(Queue queue) const;
  // How many segments the budget allows now (the index's share taken out).
  size_t capacity() const;
  // The oldest sealed segment that holds no live item, removed from the FIFO (for -M, where
  // nothing may be evicted but the space of deleted and replaced items must come back).
  std::optional<uint32_t> TakeDead();
  void Seal(uint32_t segment, uint32_t used, Queue queue);
  // The oldest sealed segment (either queue) whose epoch is below `epoch`, out of its queue.
  std::optional<Sealed> TakeSealedBefore(uint64_t epoch);
  // Gives the segment a fresh epoch for reuse by its current owner.
  void Renew(uint32_t segment);
  // Returns a segment to the free list and its pages to the kernel.
  void Release(uint32_t segment);
  // Returns its pages to the kernel and nothing else: its bytes read as zeros after (for a
  // store about to be destroyed, storage::ExportMode::kFinal).
  void DiscardBytes(uint32_t segment);

  // Snapshots (storage/store_snapshot.cc). A sealed segment's bytes stay as they are until
  // eviction takes it, which the store's eviction mutex excludes.
  struct SealedEntry {
    uint32_t segment;
    uint32_t used;
    uint64_t epoch;
  };
  std::vector<SealedEntry> SealedList(Queue queue) const;  // oldest first
  uint64_t epoch(uint32_t segment) const {
    return epochs_[segment].load(std::memory_order_relaxed);
  }
  // Every epoch handed out so far is below it.
  uint64_t next_epoch() const;
  TimeMarks Times(uint32_t segment) const;
  // Restoring, before the pool is shared: a taken segment gets the epoch and write times it had
  // when saved, and later epochs start at `next` at least.
  void Restore(uint32_t segment, uint64_t epoch, const TimeMarks& times);
  void RaiseNextEpoch(uint64_t next);

  // Bytes of live (indexed) items per segment, kept by the store under its shard locks. Only a
  // sealed segment's count can reach 0 and stay there: nothing is published into it any more.
  void AddLive(uint64_t location, int64_t delta) {
    live_[SegmentOf(location)].fetch_add(delta, std::memory_order_relaxed);
  }

  // The hash index shares the budget; more index means fewer segments.
  void AddIndexBytes(int64_t delta) { index_bytes_.fetch_add(delta, std::memory_order_relaxed); }
  size_t index_bytes() const { return index_bytes_.load(std::memory_order_relaxed); }
  bool OverBudget() const;
  size_t segments_in_use() const;
  size_t memory_limit() const { return memory_limit_.load(std::memory_order_relaxed); }
  // cache_memlimit: a new budget. Lowering it makes writers evict until the pool fits; raising
  // it works up to the arena mapped at startup (the first limit): false, unchanged, beyond.
  bool SetMemoryLimit(size_t limit);

 private:
  size_t CapacityLocked() const CACHET_REQUIRES(mu_);
  size_t InUseLocked() const CACHET_REQUIRES(mu_) { return segment_count_ - free_.size(); }

  std::atomic<size_t> memory_limit_;
  const size_t initial_limit_;
  const size_t segment_size_;
  const int segment_shift_;
  const size_t segment_count_;
  const int location_bits_;
  const size_t min_segments_;
  static constexpr size_t kHugePage = size_t{2} << 20;
  uint8_t* mapping_ = nullptr;  // what mmap returned; base_ is inside it
  uint8_t* base_ = nullptr;
  size_t mapped_bytes_ = 0;
  std::unique_ptr<std::atomic<uint64_t>[]> epochs_;
  std::unique_ptr<std::atomic<int64_t>[]> live_;
  struct AtomicTimeMarks {
    std::atomic<uint32_t> count{0};
    std::atomic<uint32_t> offset[kTimeMarks];
    std::atomic<uint32_t> time[kTimeMarks];
  };
  std::unique_ptr<AtomicTimeMarks[]> times_;
  std::atomic<int64_t> index_bytes_{0};

  mutable common::Mutex mu_;
  uint64_t next_epoch_ CACHET_GUARDED_BY(mu_) = 1;
  std::vector<uint32_t> free_ CACHET_GUARDED_BY(mu_);
  std::deque<Sealed> sealed_[2] CACHET_GUARDED_BY(mu_);  // by Queue
};

}  // namespace cachet::storage
