// Writer space and segment turnover: reserving room in a thread's segment, sealing full ones, and
// evicting when no free one is left.
//
// Eviction is segment-granular S3-FIFO (Yang et al., SOSP 2023) with one access bit: new items
// wait in a short probation queue, and only those read there move on to the main queue, which
// keeps an item for as long as it is read once per pass. Items written once and never read
// (most misses' sets under a skewed load) so cost one probation pass instead of a whole pass of
// the cache.
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "storage/store.h"
#include "storage/store_walk.h"

namespace cachet::storage {

namespace {
// Survivors of an in-place compaction may fill at most this share of the segment, so each one
// frees at least the rest even when everything was recently read.
constexpr size_t kKeepPercent = 50;
// The probation queue's share of the segments (sealed ones; writers' open segments come on top).
constexpr size_t kProbationPercent = 10;
constexpr int kMaxAcquireAttempts = 64;
using Queue = SegmentPool::Queue;
}  // namespace

uint64_t Store::Reserve(Writer& w, size_t size, uint32_t now) {
  LeaveFlushedSegment(w);
  for (int attempt = 0; attempt < kMaxAcquireAttempts; ++attempt) {
    if (w.segment() != SegmentPool::kNoSegment && w.used() + size <= pool_.segment_size()) {
      pool_.NoteWrite(w.segment(), w.used(), now);
      return pool_.SegmentStart(w.segment()) + w.used();
    }
    RetireWriterSegment(w);
    if (!AcquireSegment(w, now)) return 0;
    // Survivors of an eviction count as written now (they were just read).
    pool_.ResetTimes(w.segment(), now);
  }
  return 0;
}

void Store::RetireWriterSegment(Writer& w) {
  if (w.segment() == SegmentPool::kNoSegment) return;
  if (w.used() == 0) {
    pool_.Release(w.segment());
  } else {
    pool_.Seal(w.segment(), w.used(), w.queue_);
  }
  w.MoveTo(SegmentPool::kNoSegment, 0);
}

bool Store::AcquireSegment(Writer& w, uint32_t now) {
  if (auto seg = pool_.TakeFree()) {
    w.MoveTo(*seg, 0);
    return true;
  }
  common::MutexLock evict_lock(evict_mu_);
  if (!config_.evict) {
    // -M: nothing live may go, but a segment whose items were all deleted, replaced or flushed
    // is free space again. (Under the eviction mutex too: a snapshot holds that while it reads
    // a sealed segment.)
    if (auto seg = pool_.TakeDead()) {
      w.MoveTo(*seg, 0);
      return true;
    }
    // Flushed items are not live: the oldest segment written before the last flush holds
    // nothing else, so dropping its items frees it whole.
    if (auto victim = pool_.TakeSealedBefore(flush_epoch_.load(std::memory_order_acquire))) {
      ForEachItem(*victim, [&](uint32_t, uint64_t location, const ItemRef& item, uint32_t) {
        const uint64_t h = Hash(item.key);
        Shard& shard = ShardFor(h);
        common::MutexLock lock(shard.mu);
        const size_t slot = shard.index.Find(h, [&](uint64_t l) { return l == location; });
        if (slot != HashIndex::kNotFound) ReclaimLocked(shard, slot, location, item);
      });
      pool_.Renew(victim->segment);
      w.MoveTo(victim->segment, 0);
      return true;
    }
    return false;
  }
  while (true) {
    if (auto seg = pool_.TakeFree()) {  // another thread's eviction may have freed one
      w.MoveTo(*seg, 0);
      return true;
    }
    auto victim = TakeVictim();
    if (!victim) return false;  // every segment is some writer's open one
    if (pool_.OverBudget()) {
      // The index grew into the budget: give the segment back whole.
      Compact(*victim, 0, now);
      pool_.Release(victim->segment);
      continue;
    }
    Drain(*victim, now);
    pool_.Renew(victim->segment);
    w.MoveTo(victim->segment, 0);
    return true;
  }
}

std::optional<SegmentPool::Sealed> Store::TakeVictim() {
  const size_t share = std::max<size_t>(1, pool_.capacity() * kProbationPercent / 100);
  // Main's only sealed segment may be the tail just sealed: not a victim while probation has any.
  const bool probation =
      pool_.sealed_count(Queue::kProbation) > share || pool_.sealed_count(Queue::kMain) <= 1;
  auto victim = pool_.TakeOldest(probation ? Queue::kProbation : Queue::kMain);
  if (!victim) victim = pool_.TakeOldest(probation ? Queue::kMain : Queue::kProbation);
  return victim;
}

uint32_t Store::PrefetchSlotAt(uint64_t start, uint32_t off, uint32_t used) const {
  while (off < used && *pool_.At(start + off) == kPadByte) ++off;
  if (off >= used) return used;
  const ItemRef item = DecodeItem(pool_.At(start + off));
  const uint32_t size = item.total_size();
  if (size < 3 || size > used - off) return used;
  const uint64_t h = Hash(item.key);
  ShardFor(h).PrefetchHome(h);
  return off + size;
}

void Store::Drain(SegmentPool::Sealed victim, uint32_t now) {
  ForEachItem(victim, [&](uint32_t, uint64_t location, const ItemRef& item, uint32_t size) {
    evict_mu_.AssertHeld();  // run here, where Drain holds it
    const uint64_t h = Hash(item.key);
    Shard& shard = ShardFor(h);
    // Read: it moves to the main queue with its CAS stored (a new location would derive
    // another). Room is found without the shard lock (finding it may compact other segments),
    // so the item is looked up again afterwards. Its access bit is cleared now, so that a read
    // in between still counts for its next pass; room is reserved for an exptime field if it
    // has one, which a touch in between may set.
    size_t moved_size;
    {
      common::MutexLock lock(shard.mu);
      const size_t slot = shard.index.Find(h, [&](uint64_t l) { return l == location; });
      if (slot == HashIndex::kNotFound) return;  // replaced, deleted or flushed: already dead
      if (!KeepIfReadLocked(shard, slot, location, item, now)) return;
      shard.index.ClearBits(slot, shard.index.accessed_bit());
      moved_size =
          EncodedSize(ItemFields{item.key, item.value_len, item.flags,
                                 item.exptime_offset != 0 ? 1u : 0u, CasOf(item, location)});
    }
    const uint64_t dst = ReserveMain(moved_size, now);
    common::MutexLock lock(shard.mu);
    const size_t slot = shard.index.Find(h, [&](uint64_t l) { return l == location; });
    if (slot == HashIndex::kNotFound) return;  // replaced or deleted meanwhile
    const uint32_t exptime = LoadExptime(item);
    if (exptime != 0 && exptime <= now) {  // touched into the past meanwhile (a flush cannot
                                           // come in between: it waits for evict_mu_)
      ReclaimLocked(shard, slot, location, item);
      return;
    }
    const ItemFields f{item.key, item.value_len, item.flags, exptime, CasOf(item, location)};
    const size_t new_size = EncodedSize(f);
    if (new_size > moved_size) std::abort();  // the room's bound is broken: a bug, stop here
    if (dst == 0) {
      EvictLocked(shard, slot, location, item, now);
      return;
    }
    uint8_t* p = EncodeHeaderAndKey(f, pool_.At(dst));
    std::memcpy(p, item.value(), item.value_len);
    // Every state bit as it is now, a read since the access bit was cleared included.
    shard.index.SetLocation(slot, dst, MovedBits(shard) | shard.index.accessed_bit());
    AccountLocked(shard, location, -static_cast<int64_t>(size));
    AccountLocked(shard, dst, static_cast<int64_t>(new_size));
    Commit(main_tail_, new_size);
  });
}

uint64_t Store::ReserveMain(size_t size, uint32_t now) {
  Writer& t = main_tail_;
  if (size > pool_.segment_size()) return 0;
  LeaveFlushedSegment(t);
  for (int attempt = 0; attempt < kMaxAcquireAttempts; ++attempt) {
    if (t.segment() != SegmentPool::kNoSegment && t.used() + size <= pool_.segment_size()) {
      pool_.NoteWrite(t.segment(), t.used(), now);
      return pool_.SegmentStart(t.segment()) + t.used();
    }
    RetireWriterSegment(t);
    if (auto seg = pool_.TakeFree()) {
      t.MoveTo(*seg, 0);
    } else {
      // An evicted segment becomes the tail, keeping what was read since its last pass in place:
      // probation's oldest while probation holds more than its share (what was read there is
      // promoted where it is; so segments pass from probation to main), main's oldest otherwise.
      auto victim = TakeVictim();
      if (!victim) return 0;
      const size_t room = pool_.segment_size() - size;
      const uint32_t kept =
          Compact(*victim, std::min(pool_.segment_size() * kKeepPercent / 100, room), now);
      pool_.Renew(victim->segment);  // everything kept stores its CAS
      t.MoveTo(victim->segment, kept);
    }
    pool_.ResetTimes(t.segment(), now);
  }
  return 0;
}

bool Store::KeepIfReadLocked(Shard& shard, size_t slot, uint64_t location, const ItemRef& item,
                             uint32_t now) {
  const uint32_t exptime = LoadExptime(item);
  if ((exptime != 0 && exptime <= now) || FlushedAt(location)) {
    ReclaimLocked(shard, slot, location, item);
    return false;
  }
  if (ApplyRulesLocked(shard, slot, item, location)) return false;  // never moved past its rule
  if (shard.index.HasBits(slot, shard.index.accessed_bit())) return true;
  EvictLocked(shard, slot, location, item, now);
  return false;
}

void Store::ReclaimLocked(Shard& shard, size_t slot, uint64_t location, const ItemRef& item) {
  ClassStats& cls = ClassOfLocked(shard, item);
  reclaimed_.fetch_add(1, std::memory_order_relaxed);
  ++cls.reclaimed;
  if (!shard.index.HasBits(slot, shard.index.fetched_bit())) {
    expired_unfetched_.fetch_add(1, std::memory_order_relaxed);
    ++cls.expired_unfetched;
  }
  RemoveItemLocked(shard, location, item);
  shard.index.EraseAt(slot);
}

void Store::EvictLocked(Shard& shard, size_t slot, uint64_t location, const ItemRef& item,
                        uint32_t now) {
  const bool fetched = shard.index.HasBits(slot, shard.index.fetched_bit());
  ClassStats& cls = ClassOfLocked(shard, item);
  evictions_.fetch_add(1, std::memory_order_relaxed);
  CountEvictionLocked(cls, item, location, now, fetched);
  if (!fetched) {
    evicted_unfetched_.fetch_add(1, std::memory_order_relaxed);
    ++cls.evicted_unfetched;
  }
  RemoveItemLocked(shard, location, item);
  shard.index.EraseAt(slot);
}

uint32_t Store::Compact(SegmentPool::Sealed victim, size_t keep_limit, uint32_t now) {
  const uint64_t start = pool_.SegmentStart(victim.segment);
  uint32_t kept = 0;
  uint32_t pinned_bytes = 0;
  pinned_.clear();
  // Walking (and looking ahead) is safe: sliding only ever writes over bytes already processed.
  const auto visit = [&](uint32_t item_off, uint64_t location, const ItemRef& item, uint32_t size) {
    evict_mu_.AssertHeld();  // run here, where Compact holds it
    const uint64_t h = Hash(item.key);
    Shard& shard = ShardFor(h);
    common::MutexLock lock(shard.mu);
    const size_t slot = shard.index.Find(h, [&](uint64_t l) { return l == location; });
    // Not found: replaced, deleted or flushed, already dead.
    if (slot == HashIndex::kNotFound) return;
    if (!KeepIfReadLocked(shard, slot, location, item, now)) return;
    // Recently read: slide it to the front, storing the CAS it had (its new location
    // would derive another), with its access bit cleared so it must earn the next
    // round. It may only move left over bytes already processed: its new header must
    // end before its old one did, so no unprocessed item is overwritten.
    const ItemFields f{item.key, item.value_len, item.flags, LoadExptime(item),
                       CasOf(item, location)};
    const uint32_t header = static_cast<uint32_t>(EncodedHeaderSize(f));
    const uint32_t body = static_cast<uint32_t>(item.key.size()) + item.value_len;
    if (kept + header + body + pinned_bytes > keep_limit) {
      EvictLocked(shard, slot, location, item, now);
      return;
    }
    if (kept + header <= item_off + item.header_len) {
      uint8_t* dst = pool_.At(start + kept);
      std::memmove(dst + header, item.key.data(), body);
      EncodeHeader(f, dst);
      shard.index.SetLocation(slot, start + kept, MovedBits(shard));
      AccountLocked(shard, location, static_cast<int64_t>(header + body) - size);
      kept += header + body;
    } else {
      // No room to grow it here (nothing before it was dropped): leave it in place for
      // now, pad the few bytes before it so the segment stays scannable, and copy it
      // behind everything else once the scan is done.
      std::memset(pool_.At(start + kept), kPadByte, item_off - kept);
      pinned_.push_back(item_off);
      pinned_bytes += header + body;
      kept = item_off + size;
    }
  };
  ForEachItem(victim, visit);
  // Pinned items are still intact at their old offsets (everything slid went behind them); copy
  // each behind the kept ones with its CAS stored. Their old bytes become dead.
  for (const uint32_t item_off : pinned_) {
    const uint64_t location = start + item_off;
    const ItemRef item = DecodeItem(pool_.At(location));
    const uint64_t h = Hash(item.key);
    Shard& shard = ShardFor(h);
    common::MutexLock lock(shard.mu);
    const size_t slot = shard.index.Find(h, [&](uint64_t l) { return l == location; });
    if (slot == HashIndex::kNotFound) continue;  // replaced or deleted meanwhile
    const ItemFields f{item.key, item.value_len, item.flags, LoadExptime(item),
                       CasOf(item, location)};
    const uint32_t new_size = static_cast<uint32_t>(EncodedSize(f));
    if (kept + new_size > pool_.segment_size()) {
      EvictLocked(shard, slot, location, item, now);
      continue;
    }
    uint8_t* p = EncodeHeaderAndKey(f, pool_.At(start + kept));
    std::memcpy(p, item.value(), item.value_len);
    shard.index.SetLocation(slot, start + kept, MovedBits(shard));
    AccountLocked(shard, location,
                  static_cast<int64_t>(new_size) - static_cast<int64_t>(item.total_size()));
    kept += new_size;
  }
  return kept;
}

}  // namespace cachet::storage
