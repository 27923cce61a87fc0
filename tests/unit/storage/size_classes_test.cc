#include "storage/size_classes.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace cachet::storage {
namespace {

// The reference: the smallest class whose chunk holds the size, the last one past them all.
int SlowClassOf(const SizeClasses& c, size_t size) {
  for (int id = 1; id <= c.count(); ++id) {
    if (c.chunk_size(id) >= size) return id;
  }
  return c.count();
}

TEST(SizeClassesTest, ClassOfMatchesTheChunkSizesForEverySize) {
  // Default, memcached's -n/-f variants, and a largest chunk that is not 8-byte aligned and
  // falls inside the table's range.
  const std::vector<SizeClasses> configs = {
      SizeClasses(), SizeClasses(48, 1.25, 512 * 1024), SizeClasses(96, 1.05, 512 * 1024),
      SizeClasses(96, 2.0, 5001), SizeClasses(100, 1.25, 16 * 1024 + 3)};
  for (const SizeClasses& c : configs) {
    for (size_t size = 0; size <= 40000; ++size) {
      ASSERT_EQ(c.ClassOf(size), SlowClassOf(c, size)) << "size " << size;
    }
    EXPECT_EQ(c.ClassOf(size_t{1} << 30), c.count());
  }
}

}  // namespace
}  // namespace cachet::storage
