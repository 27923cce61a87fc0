#include "storage/size_classes.h"

#include <algorithm>

namespace cachet::storage {

SizeClasses::SizeClasses(size_t smallest, double factor, size_t largest) {
  // memcached's slabs_init(): sizes grow by `factor` (truncated, then 8-byte aligned) while
  // they stay under largest / factor, then one class of exactly `largest`.
  unsigned size = static_cast<unsigned>(smallest);
  while (static_cast<int>(sizes_.size()) < kMaxClasses - 1) {
    if (size >= static_cast<double>(largest) / factor) break;
    if (size % 8 != 0) size += 8 - size % 8;
    sizes_.push_back(size);
    size = static_cast<unsigned>(size * factor);
  }
  sizes_.push_back(static_cast<uint32_t>(largest));
  // Every chunk size but the last is 8-byte aligned, and the last class takes every size past
  // the others: rounding a size up to 8 keeps its class.
  constexpr size_t kSmallSlots = 16 * 1024 / 8;
  small_.resize(kSmallSlots);
  for (size_t slot = 0; slot < kSmallSlots; ++slot) {
    small_[slot] = static_cast<uint8_t>(ClassOfLarge(slot * 8));
  }
}

int SizeClasses::ClassOfLarge(size_t size) const {
  const auto it = std::lower_bound(sizes_.begin(), sizes_.end(), size);
  if (it == sizes_.end()) return count();
  return static_cast<int>(it - sizes_.begin()) + 1;
}

}  // namespace cachet::storage
