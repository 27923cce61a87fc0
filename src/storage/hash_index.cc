#include "storage/hash_index.h"

#include <algorithm>
#include <cassert>

namespace cachet::storage {
namespace {
// Linear probing stays short below this load; growing by 1.25x keeps the load in [0.68, 0.85],
// which matters because the index shares the -m budget with the items.
constexpr size_t kMaxLoadPercent = 85;
}  // namespace

HashIndex::HashIndex(int loc_bits, size_t initial_capacity)
    : loc_mask_((uint64_t{1} << loc_bits) - 1),
      hash_mask_(~((uint64_t{1} << (loc_bits + 4)) - 1)),
      capacity_(std::max<size_t>(initial_capacity, 8)),
      table_(new uint64_t[capacity_]()),
      hint_table_(table_.get()),
      hint_capacity_(capacity_) {}

void HashIndex::Insert(uint64_t hash, uint64_t location, uint64_t bits) {
  assert(location != 0 && (location & ~loc_mask_) == 0);
  if ((size_ + 1) * 100 > capacity_ * kMaxLoadPercent) Grow();
  const uint64_t entry = (hash & hash_mask_) | bits | location;
  size_t i = Home(entry & hash_mask_);
  while (table_[i] != 0) i = Next(i);
  table_[i] = entry;
  ++size_;
}

void HashIndex::EraseAt(size_t slot) {
  size_t hole = slot;
  for (size_t j = Next(slot);; j = Next(j)) {
    const uint64_t e = table_[j];
    if (e == 0) break;
    const size_t home = Home(e & hash_mask_);
    // The entry may move into the hole only if its home is not cyclically within (hole, j].
    const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (stays) continue;
    table_[hole] = e;
    hole = j;
  }
  table_[hole] = 0;
  --size_;
}

void HashIndex::Clear() {
  std::fill_n(table_.get(), capacity_, 0);
  size_ = 0;
}

void HashIndex::Grow() { Rehash(capacity_ + capacity_ / 4); }

size_t HashIndex::CapacityFor(size_t items, size_t capacity) {
  while (items * 100 > capacity * kMaxLoadPercent) capacity += capacity / 4;
  return capacity;
}

void HashIndex::Reserve(size_t items) {
  const size_t capacity = CapacityFor(items, capacity_);
  if (capacity != capacity_) Rehash(capacity);
}

void HashIndex::Rehash(size_t capacity) {
  const size_t old_capacity = capacity_;
  std::unique_ptr<uint64_t[]> old = std::move(table_);
  capacity_ = capacity;
  table_.reset(new uint64_t[capacity_]());
  hint_table_.store(table_.get(), std::memory_order_relaxed);
  hint_capacity_.store(capacity_, std::memory_order_relaxed);
  for (size_t k = 0; k < old_capacity; ++k) {
    const uint64_t e = old[k];
    if (e == 0) continue;
    size_t i = Home(e & hash_mask_);
    while (table_[i] != 0) i = Next(i);
    table_[i] = e;
  }
}

}  // namespace cachet::storage
