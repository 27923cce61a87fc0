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
}

int SizeClasses::ClassOf(size_t size) const {
  const auto it = std::lower_bound(sizes_.begin(), sizes_.end(), size);
  if (it == sizes_.end()) return count();
  return static_cast<int>(it - sizes_.begin()) + 1;
}

}  // namespace cachet::storage
