// Segments out of the store and back in, for warm restarts (the file format around them is
// snapshot_file.cc's).
//
// Export reads a segment's bytes without the writer's cooperation, so it relies on when those
// bytes can change: a sealed segment only when eviction takes it (compaction slides items,
// renewal hands it to a writer) and a writer's open one only above its published `used`. Holding
// the eviction mutex while one segment is walked excludes both (-M's reuse of dead segments
// takes the same mutex), and the epoch read under it tells whether the segment listed earlier
// is still the one listed. Items are copied under their shard lock, which also orders the only
// in-place write (touch's exptime).
#include <algorithm>
#include <bit>
#include <cstring>
#include <unordered_set>
#include <utility>

#include "storage/store.h"

namespace cachet::storage {

namespace {
using Queue = SegmentPool::Queue;
bool Expired(uint32_t exptime, uint32_t now) { return exptime != 0 && exptime <= now; }

// Sorts v[0, n) by the field at bits [shift, shift + bits) (all other bits of the values equal
// or irrelevant), with tmp[0, n) as room: LSD radix, 11 bits a pass. A segment's few thousand
// items, in random order as the index holds them, sort several times faster than by std::sort,
// which was a quarter of a save.
void RadixSortByField(uint64_t* v, uint64_t* tmp, size_t n, int shift, int bits) {
  constexpr int kDigit = 11;
  if (n < 64) {
    std::sort(v, v + n);
    return;
  }
  size_t count[size_t{1} << kDigit];
  uint64_t* from = v;
  uint64_t* to = tmp;
  for (int low = 0; low < bits; low += kDigit) {
    const int at = shift + low;
    const uint64_t mask = (uint64_t{1} << std::min(kDigit, bits - low)) - 1;
    std::memset(count, 0, sizeof(count));
    for (size_t i = 0; i < n; ++i) ++count[(from[i] >> at) & mask];
    size_t sum = 0;
    for (size_t d = 0; d <= mask; ++d) sum += std::exchange(count[d], sum);
    for (size_t i = 0; i < n; ++i) to[count[(from[i] >> at) & mask]++] = from[i];
    std::swap(from, to);
  }
  if (from != v) std::memcpy(v, from, n * sizeof(uint64_t));
}
}  // namespace

Store::EntryBits Store::EntryBitsOf(const Shard& shard) const {
  const HashIndex& ix = shard.index;
  return {ix.Location(~uint64_t{0}), ix.accessed_bit(), ix.fetched_bit(), ix.stale_bit(),
          ix.token_bit()};
}

uint8_t Store::EntryBits::StateOf(uint64_t entry) const {
  uint8_t state = 0;
  if (entry & accessed) state |= item_state::kAccessed;
  if (entry & fetched) state |= item_state::kFetched;
  if (entry & stale) state |= item_state::kStale;
  if (entry & token) state |= item_state::kToken;
  return state;
}

uint64_t Store::IndexBits(const Shard& shard, uint8_t state) const {
  const HashIndex& ix = shard.index;
  uint64_t bits = 0;
  if (state & item_state::kAccessed) bits |= ix.accessed_bit();
  if (state & item_state::kFetched) bits |= ix.fetched_bit();
  if (state & item_state::kStale) bits |= ix.stale_bit();
  if (state & item_state::kToken) bits |= ix.token_bit();
  return bits;
}

std::vector<Store::ExportSegment> Store::ListForExport() {
  std::vector<ExportSegment> out;
  for (const Queue queue : {Queue::kMain, Queue::kProbation}) {
    for (const SegmentPool::SealedEntry& e : pool_.SealedList(queue)) {
      out.push_back({e.segment, e.used, e.epoch, queue});
    }
  }
  // The open segments last, as the newest of their queues. Under the eviction mutex none can
  // be renewed, so each epoch read is that of the bytes its writer published below `used` (a
  // writer that seals its segment meanwhile makes it a sealed one, which only eviction takes).
  common::MutexLock lock(evict_mu_);
  const uint32_t tail = main_tail_.segment();
  if (tail != SegmentPool::kNoSegment && main_tail_.used() > 0) {
    out.push_back({tail, main_tail_.used(), pool_.epoch(tail), Queue::kMain});
  }
  common::MutexLock writers_lock(writers_mu_);
  for (const Writer* w : writers_) {
    const uint64_t position = w->position_.load(std::memory_order_acquire);
    const uint32_t seg = static_cast<uint32_t>(position >> 32);
    const uint32_t used = static_cast<uint32_t>(position);
    if (seg != SegmentPool::kNoSegment && used > 0) {
      out.push_back({seg, used, pool_.epoch(seg), Queue::kProbation});
    }
  }
  // Segments older than the last flush hold only flushed items: nothing to save.
  const uint64_t flushed_below = flush_epoch_.load(std::memory_order_acquire);
  std::erase_if(out, [&](const ExportSegment& e) { return e.epoch < flushed_below; });
  return out;
}

bool Store::ExportGroup(const ExportSegment* group, size_t n, uint32_t now, ExportMode mode,
                        SegmentSink& sink, ExportScratch& scratch) {
  // One sequential pass over the index finds the group's live items: far cheaper than looking
  // each item of a segment up at random. An entry packs (group slot, offset, shard, state).
  constexpr int kStateBits = 4;
  constexpr int kShardBits = kMaxShardBits;
  constexpr int kOffsetShift = kStateBits + kShardBits;
  constexpr int kSlotShift = kOffsetShift + 32;  // offsets of segments up to 2^32 bytes
  // Slots copied out per lock hold: a few microseconds, so that the workers are never held up
  // behind a snapshot thread preempted while it holds a shard lock.
  constexpr size_t kSlice = 2048;
  static_assert(kOffsetShift + 32 <= kSlotShift);
  scratch.live.clear();
  for (size_t k = 0; k < n; ++k) scratch.slot_of[group[k].segment] = static_cast<int32_t>(k);
  uint64_t slice[kSlice];
  for (size_t s = 0; s < shards_.size(); ++s) {
    const Shard& shard = *shards_[s];
    for (size_t from = 0;; from += kSlice) {
      size_t count;
      EntryBits bits;
      {
        common::MutexLock lock(shard.mu);
        const HashIndex& ix = shard.index;
        if (from >= ix.capacity()) break;
        count = std::min(ix.capacity() - from, kSlice);
        for (size_t i = 0; i < count; ++i) slice[i] = ix.entry_at(from + i);
        bits = EntryBitsOf(shard);
      }
      for (size_t i = 0; i < count; ++i) {
        const uint64_t e = slice[i];
        if (e == 0) continue;
        const uint64_t location = e & bits.location;
        const uint32_t seg = pool_.SegmentOf(location);
        const int32_t k = scratch.slot_of[seg];
        if (k < 0) continue;
        const uint64_t offset = location - pool_.SegmentStart(seg);
        if (offset >= group[k].used) continue;  // written after the listing
        scratch.live.push_back(uint64_t(k) << kSlotShift | offset << kOffsetShift |
                               uint64_t(s) << kStateBits | bits.StateOf(e));
      }
    }
  }
  for (size_t k = 0; k < n; ++k) scratch.slot_of[group[k].segment] = -1;
  // Into offset order, in place: by segment first (counting, then each entry swapped into its
  // segment's run, so no second array), then each segment's few thousand by offset.
  scratch.bucket.assign(n + 1, 0);
  for (const uint64_t v : scratch.live) ++scratch.bucket[(v >> kSlotShift) + 1];
  size_t largest = 0;
  for (size_t k = 0; k < n; ++k) {
    largest = std::max(largest, scratch.bucket[k + 1]);
    scratch.bucket[k + 1] += scratch.bucket[k];
  }
  {
    std::vector<size_t> at(scratch.bucket.begin(), scratch.bucket.end() - 1);
    uint64_t* live = scratch.live.data();
    for (size_t k = 0; k < n; ++k) {
      while (at[k] < scratch.bucket[k + 1]) {
        uint64_t v = live[at[k]];
        for (size_t t = v >> kSlotShift; t != k; t = v >> kSlotShift) std::swap(v, live[at[t]++]);
        live[at[k]++] = v;
      }
    }
  }
  scratch.room.resize(largest);
  for (size_t k = 0; k < n; ++k) {
    const ExportSegment& seg = group[k];
    const size_t first = scratch.bucket[k];
    const size_t next = scratch.bucket[k + 1];
    RadixSortByField(scratch.live.data() + first, scratch.room.data(), next - first, kOffsetShift,
                     std::bit_width(seg.used));
    {
      common::MutexLock lock(evict_mu_);
      // Evicted since it was listed: its items were dropped or moved (the second round finds
      // where). Otherwise its bytes below `used` are as they were when the index pointed here.
      if (pool_.epoch(seg.segment) != seg.epoch) continue;
      sink.BeginSegment({seg.queue, seg.epoch, pool_.Times(seg.segment)});
      const uint64_t start = pool_.SegmentStart(seg.segment);
      for (size_t j = first; j < next; ++j) {
        const uint64_t v = scratch.live[j];
        const uint32_t offset = static_cast<uint32_t>(v >> kOffsetShift);
        const uint32_t shard_id = static_cast<uint32_t>(v >> kStateBits) & ((1u << kShardBits) - 1);
        const uint8_t state = static_cast<uint8_t>(v & ((1u << kStateBits) - 1));
        const ItemRef item = DecodeItem(pool_.At(start + offset));
        ExportedItem out{offset, item.base, item.total_size(), state, shard_id};
        const bool rules = rules_active_.load(std::memory_order_relaxed) != 0;
        if (item.exptime_offset == 0 && !rules) {
          // Nothing writes into an item without an exptime field: no lock needed.
          sink.AddItem(out);
          continue;
        }
        // touch rewrites the exptime in place, and the prefix rules change, under the shard lock.
        const Shard& shard = *shards_[shard_id];
        common::MutexLock shard_lock(shard.mu);
        if (Expired(LoadExptime(item), now)) continue;
        const PrefixRule* rule = nullptr;
        switch (RuleLocked(shard, item, start + offset, &rule)) {
          case RuleEffect::kDrop:
            continue;
          case RuleEffect::kStale:  // what the rule would mark on a read comes back stale
            if ((out.state & item_state::kStale) == 0) {
              out.state =
                  static_cast<uint8_t>((out.state | item_state::kStale) & ~item_state::kToken);
              // With the rule's TTL, written in place as the read would (the read that marks
              // it later writes the same value); an item without the field has no room for it.
              if (rule->exptime && item.exptime_offset != 0) {
                StoreExptime(item, *rule->exptime);
                if (Expired(*rule->exptime, now)) continue;
              }
            }
            break;
          case RuleEffect::kNone:
            break;
        }
        sink.AddItem(out);
      }
    }
    scratch.exported.insert(seg.epoch);
    if (!sink.EndSegment()) return false;
    if (mode == ExportMode::kFinal) pool_.DiscardBytes(seg.segment);
  }
  return true;
}

bool Store::Export(SegmentSink& sink, uint32_t now, uint64_t* next_epoch, ExportMode mode) {
  ExportScratch scratch;
  scratch.slot_of.assign(pool_.segment_count(), -1);
  // Segments per index pass: about two million live items, so the entries stay within ~16 MiB
  // while serving; eight million when nothing else runs, as each pass reads the whole index.
  const uint64_t pass_items = mode == ExportMode::kServing ? uint64_t{2} << 20 : uint64_t{8} << 20;
  const StoreStats stats = Stats();
  const uint64_t per_segment =
      std::max<uint64_t>(1, stats.curr_items / std::max<uint64_t>(1, stats.segments_in_use));
  const size_t group = static_cast<size_t>(std::clamp<uint64_t>(pass_items / per_segment, 1, 4096));
  static_assert(4096 <= (uint64_t{1} << (64 - 4 - kMaxShardBits - 32)));
  scratch.live.reserve(
      static_cast<size_t>(std::min<uint64_t>(group * per_segment * 5 / 4, pass_items * 2)));
  // Twice: the second round takes what was sealed or renewed during the first (nothing, when
  // nothing is being written).
  for (int round = 0; round < 2; ++round) {
    std::vector<ExportSegment> list = ListForExport();
    std::erase_if(list, [&](const ExportSegment& s) { return scratch.exported.contains(s.epoch); });
    for (size_t at = 0; at < list.size(); at += group) {
      if (!ExportGroup(list.data() + at, std::min(group, list.size() - at), now, mode, sink,
                       scratch)) {
        return false;
      }
    }
  }
  *next_epoch = pool_.next_epoch();
  return true;
}

size_t Store::SegmentsFitting(uint64_t items) const {
  // The index each shard would grow to for its share of the items (they spread evenly by hash).
  const size_t shards = shards_.size();
  const size_t per_shard = static_cast<size_t>((items + shards - 1) / shards);
  size_t capacity;
  {
    common::MutexLock lock(shards_[0]->mu);
    capacity = shards_[0]->index.capacity();
  }
  const size_t index = HashIndex::CapacityFor(per_shard, capacity) * sizeof(uint64_t) * shards;
  const size_t limit = pool_.memory_limit();
  const size_t for_segments = limit > index ? limit - index : 0;
  return std::clamp(for_segments / pool_.segment_size(), config_.min_segments,
                    pool_.segment_count());
}

void Store::ReserveIndex(size_t shard_id, size_t items) {
  Shard& shard = *shards_[shard_id];
  common::MutexLock lock(shard.mu);
  const size_t before = shard.index.memory_bytes();
  shard.index.Reserve(items);
  pool_.AddIndexBytes(static_cast<int64_t>(shard.index.memory_bytes() - before));
}

std::optional<uint32_t> Store::TakeRestoredSegment(uint64_t epoch,
                                                   const SegmentPool::TimeMarks& times) {
  std::optional<uint32_t> seg = pool_.TakeFree();
  if (seg) pool_.Restore(*seg, epoch, times);
  return seg;
}

void Store::RestoreItems(uint32_t segment, const uint32_t* offsets, const uint8_t* states, size_t n,
                         uint32_t now, size_t part, size_t parts, RestoreCounts* counts) {
  // Index slots are met at random: hash a batch first and prefetch their home slots, so that
  // the cache misses overlap instead of each insert waiting for its own.
  constexpr size_t kBatch = 32;
  const uint64_t start = pool_.SegmentStart(segment);
  int64_t live = 0;  // the segment's live bytes, added once (other threads add theirs)
  for (size_t base = 0; base < n; base += kBatch) {
    uint64_t hashes[kBatch];
    ItemRef items[kBatch];
    size_t index[kBatch];
    size_t k = 0;
    for (size_t j = base; j < std::min(n, base + kBatch); ++j) {
      const ItemRef item = DecodeItem(pool_.At(start + offsets[j]));
      const uint64_t h = Hash(item.key);
      if (parts > 1 && (h & shard_mask_) % parts != part) continue;
      if (Expired(LoadExptime(item), now)) {
        ++counts->expired;
        continue;
      }
      ShardFor(h).PrefetchHome(h);
      hashes[k] = h;
      items[k] = item;
      index[k] = j;
      ++k;
    }
    for (size_t i = 0; i < k; ++i) {
      const uint64_t h = hashes[i];
      const ItemRef& item = items[i];
      const uint64_t location = start + offsets[index[i]];
      Shard& shard = ShardFor(h);
      common::MutexLock lock(shard.mu);
      const uint64_t bits = IndexBits(shard, states[index[i]]);
      Found f;
      f.slot = shard.index.Find(h, [&](uint64_t l) {
        const ItemRef other = DecodeItem(pool_.At(l));
        if (other.key != item.key) return false;
        f.location = l;
        f.item = other;
        return true;
      });
      if (f.slot == HashIndex::kNotFound) {
        const size_t before = shard.index.memory_bytes();
        shard.index.Insert(h, location, bits);
        const size_t after = shard.index.memory_bytes();
        if (after != before) pool_.AddIndexBytes(static_cast<int64_t>(after - before));
        ++counts->added;
      } else {
        RemoveItemLocked(shard, f.location, f.item);
        shard.index.SetLocation(f.slot, location, 0);
        shard.index.SetBits(f.slot, bits);
        ++counts->replaced;
      }
      shard.bytes += item.total_size();
      live += item.total_size();
      ClassStats& c = ClassOfLocked(shard, item);
      ++c.items;
      c.requested += RequestedSize(item);
    }
  }
  pool_.AddLive(start, live);
}

void Store::SealRestoredSegment(uint32_t segment, uint32_t used, Queue queue) {
  pool_.Seal(segment, used, queue);
}

}  // namespace cachet::storage
