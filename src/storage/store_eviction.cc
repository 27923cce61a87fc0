// Writer space and segment turnover: reserving room in a thread's segment, sealing full ones, and
// evicting the oldest sealed segment when no free one is left.
#include <cstring>

#include "storage/store.h"

namespace cachet::storage {

namespace {
// Survivors of an eviction may fill at most this share of the reused segment, so each eviction
// frees at least the rest even when everything was recently read.
constexpr size_t kKeepPercent = 50;
constexpr int kMaxAcquireAttempts = 64;
}  // namespace

uint64_t Store::Reserve(Writer& w, size_t size, uint32_t now) {
  for (int attempt = 0; attempt < kMaxAcquireAttempts; ++attempt) {
    if (w.segment_ != SegmentPool::kNoSegment && w.used_ + size <= pool_.segment_size()) {
      return pool_.SegmentStart(w.segment_) + w.used_;
    }
    RetireWriterSegment(w);
    if (!AcquireSegment(w, now)) return 0;
  }
  return 0;
}

void Store::RetireWriterSegment(Writer& w) {
  if (w.segment_ == SegmentPool::kNoSegment) return;
  if (w.used_ == 0) {
    pool_.Release(w.segment_);
  } else {
    pool_.Seal(w.segment_, w.used_);
  }
  w.segment_ = SegmentPool::kNoSegment;
  w.used_ = 0;
}

bool Store::AcquireSegment(Writer& w, uint32_t now) {
  if (auto seg = pool_.TakeFree()) {
    w.segment_ = *seg;
    w.used_ = 0;
    return true;
  }
  if (!config_.evict) return false;
  std::lock_guard evict_lock(evict_mu_);
  while (true) {
    if (auto seg = pool_.TakeFree()) {  // another thread's eviction may have freed one
      w.segment_ = *seg;
      w.used_ = 0;
      return true;
    }
    auto victim = pool_.TakeOldest();
    if (!victim) return false;  // every segment is some writer's open one
    if (spare_ == SegmentPool::kNoSegment || pool_.OverBudget()) {
      // The index grew into the budget (or there is no spare): give the segment back whole.
      CompactInto(*victim, SegmentPool::kNoSegment, 0, now);
      pool_.Release(victim->segment);
      continue;
    }
    const uint32_t kept =
        CompactInto(*victim, spare_, pool_.segment_size() * kKeepPercent / 100, now);
    w.segment_ = spare_;
    w.used_ = kept;
    pool_.Renew(victim->segment);
    spare_ = victim->segment;
    return true;
  }
}

uint32_t Store::CompactInto(SegmentPool::Sealed victim, uint32_t target, size_t keep_limit,
                            uint32_t now) {
  const uint64_t start = pool_.SegmentStart(victim.segment);
  const uint64_t target_start = target == SegmentPool::kNoSegment ? 0 : pool_.SegmentStart(target);
  uint32_t kept = 0;
  for (uint32_t off = 0; off < victim.used;) {
    const uint64_t location = start + off;
    const ItemRef item = DecodeItem(pool_.At(location));
    const uint32_t size = item.total_size();
    off += size;
    const uint64_t h = Hash(item.key);
    Shard& shard = ShardFor(h);
    std::lock_guard lock(shard.mu);
    const size_t slot = shard.index.Find(h, [&](uint64_t l) { return l == location; });
    if (slot == HashIndex::kNotFound) continue;  // replaced, deleted or flushed: already dead
    const uint32_t exptime = LoadExptime(item);
    const bool fetched = shard.index.HasBits(slot, shard.index.fetched_bit());
    if (exptime != 0 && exptime <= now) {
      reclaimed_.fetch_add(1, std::memory_order_relaxed);
      if (!fetched) expired_unfetched_.fetch_add(1, std::memory_order_relaxed);
    } else if (shard.index.HasBits(slot, shard.index.accessed_bit()) &&
               kept + size + sizeof(uint64_t) <= keep_limit) {
      // Recently read: keep it, with its access bit cleared so it must earn the next round. The
      // copy stores the CAS the version had, since its new location would derive another.
      const ItemFields f{item.key, item.value_len, item.flags, exptime, CasOf(item, location)};
      uint8_t* dst = pool_.At(target_start + kept);
      uint8_t* p = EncodeHeaderAndKey(f, dst);
      std::memcpy(p, item.value(), item.value_len);
      const uint32_t new_size = static_cast<uint32_t>(p + item.value_len - dst);
      shard.index.SetLocation(slot, target_start + kept, shard.index.fetched_bit());
      shard.bytes = shard.bytes - size + new_size;
      kept += new_size;
      continue;
    } else {
      evictions_.fetch_add(1, std::memory_order_relaxed);
      if (!fetched) evicted_unfetched_.fetch_add(1, std::memory_order_relaxed);
    }
    shard.bytes -= size;
    shard.index.EraseAt(slot);
  }
  return kept;
}

}  // namespace cachet::storage
