#pragma once
// Store::ForEachItem, shared by eviction (store_eviction.cc) and snapshots (store_snapshot.cc);
// include only from the store's own .cc files.
#include <algorithm>

#include "storage/store.h"

namespace cachet::storage {

// A walk meets the items' index slots at random: it keeps this many items ahead of itself with
// their slots prefetched, so the cache misses overlap.
inline constexpr int kSlotLookahead = 8;

template <typename Fn>
void Store::ForEachItem(SegmentPool::Sealed victim, Fn&& fn) {
  const uint64_t start = pool_.SegmentStart(victim.segment);
  uint32_t ahead = 0;
  for (int i = 0; i < kSlotLookahead; ++i) ahead = PrefetchSlotAt(start, ahead, victim.used);
  for (uint32_t off = 0; off < victim.used;) {
    if (*pool_.At(start + off) == kPadByte) {
      ++off;
      continue;
    }
    const ItemRef item = DecodeItem(pool_.At(start + off));
    const uint32_t size = item.total_size();
    if (size < 3 || size > victim.used - off) break;  // cannot happen: the format is ours
    ahead = PrefetchSlotAt(start, std::max(ahead, off + size), victim.used);
    fn(off, start + off, item, size);
    off += size;
  }
}

}  // namespace cachet::storage
