#include "storage/segment_pool.h"

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstdlib>

namespace cachet::storage {

SegmentPool::SegmentPool(size_t memory_limit, size_t segment_size, size_t min_segments)
    : memory_limit_(memory_limit),
      initial_limit_(memory_limit),
      segment_size_(std::bit_ceil(segment_size)),
      segment_shift_(std::countr_zero(std::bit_ceil(segment_size))),
      segment_count_(std::max(memory_limit / std::bit_ceil(segment_size), min_segments)),
      location_bits_(std::bit_width(kArenaHeader + segment_count_ * std::bit_ceil(segment_size))),
      min_segments_(min_segments),
      epochs_(new std::atomic<uint64_t>[segment_count_]),
      live_(new std::atomic<int64_t>[segment_count_]),
      times_(new AtomicTimeMarks[segment_count_]) {
  // Segments start on a huge-page boundary (the few header bytes before them sit in the page
  // below), so with transparent huge pages each segment is whole 2 MiB pages or half of one.
  mapped_bytes_ = kArenaHeader + segment_count_ * segment_size_ + kHugePage;
  // NORESERVE: pages become resident only when written, so RSS tracks what is stored.
  void* p = ::mmap(nullptr, mapped_bytes_, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    std::perror("cachet: cannot map the item arena");
    std::abort();  // an environment failure at startup, not client input
  }
  mapping_ = static_cast<uint8_t*>(p);
  const uintptr_t first = reinterpret_cast<uintptr_t>(mapping_) + kArenaHeader;
  const uintptr_t aligned = (first + kHugePage - 1) & ~uintptr_t{kHugePage - 1};
  base_ = mapping_ + (aligned - first);
  // Items are read at random: with 4 KiB pages nearly every read of a large cache also misses
  // the TLB. Huge pages where the kernel allows them (transparent_hugepage "madvise" or
  // "always"); a kernel that refuses just keeps small pages.
  ::madvise(base_ + kArenaHeader, segment_count_ * segment_size_, MADV_HUGEPAGE);
  free_.reserve(segment_count_);
  for (size_t i = segment_count_; i-- > 0;) {
    free_.push_back(static_cast<uint32_t>(i));
    epochs_[i].store(0, std::memory_order_relaxed);
    live_[i].store(0, std::memory_order_relaxed);
  }
}

SegmentPool::~SegmentPool() { ::munmap(mapping_, mapped_bytes_); }

size_t SegmentPool::CapacityLocked() const {
  const size_t index = index_bytes();
  const size_t limit = memory_limit();
  const size_t for_segments = limit > index ? limit - index : 0;
  return std::clamp(for_segments / segment_size_, min_segments_, segment_count_);
}

bool SegmentPool::SetMemoryLimit(size_t limit) {
  const size_t arena = std::max(initial_limit_, segment_count_ * segment_size_);
  if (limit > arena) return false;
  common::MutexLock lock(mu_);
  memory_limit_.store(limit, std::memory_order_relaxed);
  return true;
}

bool SegmentPool::OverBudget() const {
  common::MutexLock lock(mu_);
  return InUseLocked() > CapacityLocked();
}

size_t SegmentPool::segments_in_use() const {
  common::MutexLock lock(mu_);
  return InUseLocked();
}

std::optional<uint32_t> SegmentPool::TakeFree() {
  common::MutexLock lock(mu_);
  if (free_.empty() || InUseLocked() >= CapacityLocked()) return std::nullopt;
  const uint32_t seg = free_.back();
  free_.pop_back();
  epochs_[seg].store(next_epoch_++, std::memory_order_relaxed);
  return seg;
}

std::optional<SegmentPool::Sealed> SegmentPool::TakeOldest(Queue queue) {
  common::MutexLock lock(mu_);
  std::deque<Sealed>& q = sealed_[static_cast<int>(queue)];
  if (q.empty()) return std::nullopt;
  const Sealed s = q.front();
  q.pop_front();
  return s;
}

size_t SegmentPool::sealed_count(Queue queue) const {
  common::MutexLock lock(mu_);
  return sealed_[static_cast<int>(queue)].size();
}

size_t SegmentPool::capacity() const {
  common::MutexLock lock(mu_);
  return CapacityLocked();
}

void SegmentPool::ResetTimes(uint32_t segment, uint32_t now) {
  AtomicTimeMarks& t = times_[segment];
  t.offset[0].store(0, std::memory_order_relaxed);
  t.time[0].store(now, std::memory_order_relaxed);
  t.count.store(1, std::memory_order_release);
}

void SegmentPool::NoteWrite(uint32_t segment, uint32_t offset, uint32_t now) {
  AtomicTimeMarks& t = times_[segment];
  const uint32_t n = t.count.load(std::memory_order_relaxed);
  if (n == 0 || n == kTimeMarks || t.time[n - 1].load(std::memory_order_relaxed) == now) return;
  t.offset[n].store(offset, std::memory_order_relaxed);
  t.time[n].store(now, std::memory_order_relaxed);
  t.count.store(n + 1, std::memory_order_release);
}

uint32_t SegmentPool::OldestWriteTime() const {
  common::MutexLock lock(mu_);
  uint32_t oldest = 0;
  for (const std::deque<Sealed>& q : sealed_) {
    if (q.empty()) continue;
    const AtomicTimeMarks& t = times_[q.front().segment];
    if (t.count.load(std::memory_order_relaxed) == 0) continue;
    const uint32_t first = t.time[0].load(std::memory_order_relaxed);
    if (oldest == 0 || first < oldest) oldest = first;
  }
  return oldest;
}

uint32_t SegmentPool::WrittenAt(uint64_t location) const {
  const AtomicTimeMarks& t = times_[SegmentOf(location)];
  const uint32_t offset = static_cast<uint32_t>((location - kArenaHeader) & (segment_size_ - 1));
  const uint32_t n = t.count.load(std::memory_order_acquire);
  uint32_t when = n > 0 ? t.time[0].load(std::memory_order_relaxed) : 0;
  for (uint32_t i = 1; i < n && t.offset[i].load(std::memory_order_relaxed) <= offset; ++i) {
    when = t.time[i].load(std::memory_order_relaxed);
  }
  return when;
}

std::optional<uint32_t> SegmentPool::TakeDead() {
  common::MutexLock lock(mu_);
  for (std::deque<Sealed>& q : sealed_) {
    for (auto it = q.begin(); it != q.end(); ++it) {
      if (live_[it->segment].load(std::memory_order_relaxed) == 0) {
        const uint32_t seg = it->segment;
        q.erase(it);
        epochs_[seg].store(next_epoch_++, std::memory_order_relaxed);
        return seg;
      }
    }
  }
  return std::nullopt;
}

std::optional<SegmentPool::Sealed> SegmentPool::TakeSealedBefore(uint64_t epoch) {
  common::MutexLock lock(mu_);
  for (std::deque<Sealed>& q : sealed_) {
    for (auto it = q.begin(); it != q.end(); ++it) {
      if (epochs_[it->segment].load(std::memory_order_relaxed) < epoch) {
        const Sealed s = *it;
        q.erase(it);
        return s;
      }
    }
  }
  return std::nullopt;
}

void SegmentPool::Seal(uint32_t segment, uint32_t used, Queue queue) {
  common::MutexLock lock(mu_);
  sealed_[static_cast<int>(queue)].push_back({segment, used});
}

void SegmentPool::Renew(uint32_t segment) {
  common::MutexLock lock(mu_);
  epochs_[segment].store(next_epoch_++, std::memory_order_relaxed);
}

void SegmentPool::Release(uint32_t segment) {
  DiscardBytes(segment);
  common::MutexLock lock(mu_);
  free_.push_back(segment);
}

void SegmentPool::DiscardBytes(uint32_t segment) {
  ::madvise(base_ + SegmentStart(segment), segment_size_, MADV_DONTNEED);
}

std::vector<SegmentPool::SealedEntry> SegmentPool::SealedList(Queue queue) const {
  common::MutexLock lock(mu_);
  std::vector<SealedEntry> out;
  out.reserve(sealed_[static_cast<int>(queue)].size());
  for (const Sealed& s : sealed_[static_cast<int>(queue)]) {
    out.push_back({s.segment, s.used, epochs_[s.segment].load(std::memory_order_relaxed)});
  }
  return out;
}

uint64_t SegmentPool::next_epoch() const {
  common::MutexLock lock(mu_);
  return next_epoch_;
}

SegmentPool::TimeMarks SegmentPool::Times(uint32_t segment) const {
  const AtomicTimeMarks& t = times_[segment];
  TimeMarks out;
  out.count = std::min<uint32_t>(t.count.load(std::memory_order_acquire), kTimeMarks);
  for (uint32_t i = 0; i < out.count; ++i) {
    out.offset[i] = t.offset[i].load(std::memory_order_relaxed);
    out.time[i] = t.time[i].load(std::memory_order_relaxed);
  }
  return out;
}

void SegmentPool::Restore(uint32_t segment, uint64_t epoch, const TimeMarks& times) {
  epochs_[segment].store(epoch, std::memory_order_relaxed);
  AtomicTimeMarks& t = times_[segment];
  const uint32_t n = std::min<uint32_t>(times.count, kTimeMarks);
  for (uint32_t i = 0; i < n; ++i) {
    t.offset[i].store(times.offset[i], std::memory_order_relaxed);
    t.time[i].store(times.time[i], std::memory_order_relaxed);
  }
  t.count.store(n, std::memory_order_release);
}

void SegmentPool::RaiseNextEpoch(uint64_t next) {
  common::MutexLock lock(mu_);
  next_epoch_ = std::max(next_epoch_, next);
}

}  // namespace cachet::storage
