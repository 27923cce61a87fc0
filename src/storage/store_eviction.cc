// Writer space and segment turnover: reserving room in a thread's segment, sealing full ones, and
// evicting the oldest sealed segment when no free one is left.
#include <algorithm>
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
      pool_.NoteWrite(w.segment_, w.used_, now);
      return pool_.SegmentStart(w.segment_) + w.used_;
    }
    RetireWriterSegment(w);
    if (!AcquireSegment(w, size, now)) return 0;
    // Survivors of an eviction count as written now (they were just read).
    pool_.ResetTimes(w.segment_, now);
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

bool Store::AcquireSegment(Writer& w, size_t size, uint32_t now) {
  if (auto seg = pool_.TakeFree()) {
    w.segment_ = *seg;
    w.used_ = 0;
    return true;
  }
  if (!config_.evict) {
    // -M: nothing live may go, but a segment whose items were all deleted, replaced or flushed
    // is free space again.
    if (auto seg = pool_.TakeDead()) {
      w.segment_ = *seg;
      w.used_ = 0;
      return true;
    }
    return false;
  }
  std::lock_guard evict_lock(evict_mu_);
  while (true) {
    if (auto seg = pool_.TakeFree()) {  // another thread's eviction may have freed one
      w.segment_ = *seg;
      w.used_ = 0;
      return true;
    }
    auto victim = pool_.TakeOldest();
    if (!victim) return false;  // every segment is some writer's open one
    if (pool_.OverBudget()) {
      // The index grew into the budget: give the segment back whole.
      Compact(*victim, 0, now);
      pool_.Release(victim->segment);
      continue;
    }
    // Survivors may not take the room the waiting item needs, or a large item would make
    // eviction run through segment after segment.
    const size_t room = pool_.segment_size() - std::min(size, pool_.segment_size());
    const size_t keep_limit = std::min(pool_.segment_size() * kKeepPercent / 100, room);
    const uint32_t kept = Compact(*victim, keep_limit, now);
    // Everything kept stores its CAS, so the segment may take a new epoch for what comes next.
    pool_.Renew(victim->segment);
    w.segment_ = victim->segment;
    w.used_ = kept;
    return true;
  }
}

uint32_t Store::Compact(SegmentPool::Sealed victim, size_t keep_limit, uint32_t now) {
  const uint64_t start = pool_.SegmentStart(victim.segment);
  uint32_t kept = 0;
  uint32_t pinned_bytes = 0;
  pinned_.clear();
  for (uint32_t off = 0; off < victim.used;) {
    const uint32_t item_off = off;
    const uint64_t location = start + off;
    if (*pool_.At(location) == kPadByte) {
      ++off;
      continue;
    }
    const ItemRef item = DecodeItem(pool_.At(location));
    const uint32_t size = item.total_size();
    if (size < 3 || size > victim.used - off) break;  // cannot happen: the format is ours
    off += size;
    const uint64_t h = Hash(item.key);
    Shard& shard = ShardFor(h);
    std::lock_guard lock(shard.mu);
    const size_t slot = shard.index.Find(h, [&](uint64_t l) { return l == location; });
    if (slot == HashIndex::kNotFound) continue;  // replaced, deleted or flushed: already dead
    const uint32_t exptime = LoadExptime(item);
    const bool fetched = shard.index.HasBits(slot, shard.index.fetched_bit());
    ClassStats& cls = ClassOfLocked(shard, item);
    if (exptime != 0 && exptime <= now) {
      reclaimed_.fetch_add(1, std::memory_order_relaxed);
      ++cls.reclaimed;
      if (!fetched) {
        expired_unfetched_.fetch_add(1, std::memory_order_relaxed);
        ++cls.expired_unfetched;
      }
      RemoveItemLocked(shard, location, item);
      shard.index.EraseAt(slot);
      continue;
    }
    if (shard.index.HasBits(slot, shard.index.accessed_bit())) {
      // Recently read: slide it to the front, storing the CAS it had (its new location would
      // derive another), with its access bit cleared so it must earn the next round. It may
      // only move left over bytes already processed: its new header must end before its old one
      // did, so no unprocessed item is overwritten.
      const ItemFields f{item.key, item.value_len, item.flags, exptime, CasOf(item, location)};
      const uint32_t header = static_cast<uint32_t>(EncodedHeaderSize(f));
      const uint32_t body = static_cast<uint32_t>(item.key.size()) + item.value_len;
      if (kept + header + body + pinned_bytes <= keep_limit) {
        if (kept + header <= item_off + item.header_len) {
          uint8_t* dst = pool_.At(start + kept);
          std::memmove(dst + header, item.key.data(), body);
          EncodeHeader(f, dst);
          shard.index.SetLocation(slot, start + kept, shard.index.fetched_bit());
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
        continue;
      }
    }
    evictions_.fetch_add(1, std::memory_order_relaxed);
    CountEvictionLocked(cls, item, location, now, fetched);
    if (!fetched) {
      evicted_unfetched_.fetch_add(1, std::memory_order_relaxed);
      ++cls.evicted_unfetched;
    }
    RemoveItemLocked(shard, location, item);
    shard.index.EraseAt(slot);
  }
  // Pinned items are still intact at their old offsets (everything slid went behind them); copy
  // each behind the kept ones with its CAS stored. Their old bytes become dead.
  for (const uint32_t item_off : pinned_) {
    const uint64_t location = start + item_off;
    const ItemRef item = DecodeItem(pool_.At(location));
    const uint64_t h = Hash(item.key);
    Shard& shard = ShardFor(h);
    std::lock_guard lock(shard.mu);
    const size_t slot = shard.index.Find(h, [&](uint64_t l) { return l == location; });
    if (slot == HashIndex::kNotFound) continue;  // replaced or deleted meanwhile
    const ItemFields f{item.key, item.value_len, item.flags, LoadExptime(item),
                       CasOf(item, location)};
    const uint32_t new_size = static_cast<uint32_t>(EncodedSize(f));
    if (kept + new_size > pool_.segment_size()) {
      evictions_.fetch_add(1, std::memory_order_relaxed);
      const bool fetched = shard.index.HasBits(slot, shard.index.fetched_bit());
      ClassStats& cls = ClassOfLocked(shard, item);
      CountEvictionLocked(cls, item, location, now, fetched);
      if (!fetched) {
        evicted_unfetched_.fetch_add(1, std::memory_order_relaxed);
        ++cls.evicted_unfetched;
      }
      RemoveItemLocked(shard, location, item);
      shard.index.EraseAt(slot);
      continue;
    }
    uint8_t* p = EncodeHeaderAndKey(f, pool_.At(start + kept));
    std::memcpy(p, item.value(), item.value_len);
    shard.index.SetLocation(slot, start + kept, shard.index.fetched_bit());
    AccountLocked(shard, location,
                  static_cast<int64_t>(new_size) - static_cast<int64_t>(item.total_size()));
    kept += new_size;
  }
  return kept;
}

}  // namespace cachet::storage
