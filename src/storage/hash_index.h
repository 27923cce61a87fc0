#pragma once
// Open-addressing hash index: one 8-byte entry per item, linear probing, backward-shift deletion.
//
// An entry is (hash bits) | 4 state bits | (item location in the arena, loc_bits wide). The
// state bits: accessed (read since written or kept), fetched (read ever), stale (meta
// invalidation) and token sent (a meta client won the right to recache).
// The stored hash bits decide the home slot, so the table grows without reading any key, and they
// filter almost all non-matching entries before a key is compared. The two access bits live here
// rather than in the item so that readers never write to segment memory. Location 0 is never
// used, so 0 marks an empty slot. Not thread-safe: each Store shard owns one and guards it with
// the shard lock.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace cachet::storage {

class HashIndex {
 public:
  static constexpr size_t kNotFound = ~size_t{0};

  explicit HashIndex(int loc_bits, size_t initial_capacity = 64);

  uint64_t Location(uint64_t entry) const { return entry & loc_mask_; }
  uint64_t entry_at(size_t slot) const { return table_[slot]; }

  // Access bits of the entry in `slot`.
  uint64_t accessed_bit() const { return loc_mask_ + 1; }
  uint64_t fetched_bit() const { return (loc_mask_ + 1) << 1; }
  uint64_t stale_bit() const { return (loc_mask_ + 1) << 2; }
  uint64_t token_bit() const { return (loc_mask_ + 1) << 3; }
  void SetBits(size_t slot, uint64_t bits) { table_[slot] |= bits; }
  void ClearBits(size_t slot, uint64_t bits) { table_[slot] &= ~bits; }
  bool HasBits(size_t slot, uint64_t bits) const { return (table_[slot] & bits) == bits; }

  // Calls matches(location) for each entry whose stored hash bits equal `hash`'s, in probe order,
  // and returns the slot of the first for which it returns true.
  template <typename Match>
  size_t Find(uint64_t hash, Match&& matches) const {
    const uint64_t want = hash & hash_mask_;
    for (size_t i = Home(want);; i = Next(i)) {
      const uint64_t e = table_[i];
      if (e == 0) return kNotFound;
      if ((e & hash_mask_) == want && matches(e & loc_mask_)) return i;
    }
  }

  // A hint for memory, callable without the shard lock: starts loading the slot where `hash`'s
  // probe begins. It reads only atomics that Grow() updates, so a concurrent grow at worst makes
  // it prefetch a useless (never dereferenced) address.
  void PrefetchHome(uint64_t hash) const {
    const uint64_t* table = hint_table_.load(std::memory_order_relaxed);
    const size_t capacity = hint_capacity_.load(std::memory_order_relaxed);
    __builtin_prefetch(table + HomeIn(hash & hash_mask_, capacity));
  }
  // `bits`: state bits the new entry starts with.
  void Insert(uint64_t hash, uint64_t location, uint64_t bits = 0);
  // Grows the table (if needed) to the size that growing one insert at a time would have
  // reached for `items` entries, in one step (restoring a snapshot).
  void Reserve(size_t items);
  // The capacity that growing from `capacity` reaches for `items` entries.
  static size_t CapacityFor(size_t items, size_t capacity);
  // Points the entry at a new location; `keep_bits` says which access bits survive.
  void SetLocation(size_t slot, uint64_t location, uint64_t keep_bits) {
    table_[slot] = (table_[slot] & (hash_mask_ | keep_bits)) | location;
  }
  void EraseAt(size_t slot);
  void Clear();

  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  size_t memory_bytes() const { return capacity_ * sizeof(uint64_t); }

 private:
  static size_t HomeIn(uint64_t hash_bits, size_t capacity) {
    return static_cast<size_t>((static_cast<unsigned __int128>(hash_bits) * capacity) >> 64);
  }
  size_t Home(uint64_t hash_bits) const { return HomeIn(hash_bits, capacity_); }
  size_t Next(size_t i) const { return i + 1 == capacity_ ? 0 : i + 1; }
  void Grow();
  void Rehash(size_t capacity);

  uint64_t loc_mask_;
  uint64_t hash_mask_;  // the stored hash bits: everything above location and state bits
  size_t capacity_;
  size_t size_ = 0;
  std::unique_ptr<uint64_t[]> table_;
  std::atomic<const uint64_t*> hint_table_;  // table_ and capacity_ for PrefetchHome()
  std::atomic<size_t> hint_capacity_;
};

}  // namespace cachet::storage
