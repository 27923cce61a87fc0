#pragma once
// The size classes cachet reports in `stats items` and `stats slabs`. cachet packs items of any
// size into the same segments, so these classes only label items for operators: they follow
// memcached's own progression (smallest chunk, growth factor, largest chunk; -n -f and
// slab_chunk_max) and an item belongs to the class memcached would give it, by memcached's item
// size, so memcached-tool, exporters and dashboards read familiar numbers.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace cachet::storage {

class SizeClasses {
 public:
  // memcached's MAX_NUMBER_OF_SLAB_CLASSES is 64 with ids from 1.
  static constexpr int kMaxClasses = 63;

  SizeClasses() : SizeClasses(96, 1.25, 512 * 1024) {}
  SizeClasses(size_t smallest, double factor, size_t largest);

  // Class ids run from 1 to count().
  int count() const { return static_cast<int>(sizes_.size()); }
  uint32_t chunk_size(int id) const { return sizes_[static_cast<size_t>(id - 1)]; }
  // The smallest class whose chunks hold `size` bytes; larger sizes belong to the last class
  // (memcached chains chunks of its largest class for them).
  int ClassOf(size_t size) const {
    const size_t slot = (size + 7) / 8;
    return slot < small_.size() ? small_[slot] : ClassOfLarge(size);
  }

 private:
  int ClassOfLarge(size_t size) const;
  std::vector<uint32_t> sizes_;
  // Every request and crawl step labels its item: for sizes up to 16 KiB, the class by size
  // rounded up to 8 bytes, instead of a binary search.
  std::vector<uint8_t> small_;
};

}  // namespace cachet::storage
