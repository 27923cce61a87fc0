#include "common/byte_buffer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace cachet::common {
namespace {

TEST(ByteBuffer, AppendConsumeAndCompactKeepBytesInOrder) {
  ByteBuffer b(8);
  std::string model;
  for (int i = 0; i < 1000; ++i) {
    const std::string chunk(static_cast<size_t>(i % 37), static_cast<char>('a' + i % 26));
    b.Append(chunk);
    model += chunk;
    const size_t n = static_cast<size_t>(i % 29);
    const size_t take = std::min(n, b.size());
    EXPECT_EQ(b.readable().substr(0, take), std::string_view(model).substr(0, take));
    b.Consume(take);
    model.erase(0, take);
    ASSERT_EQ(b.readable(), model);
  }
}

TEST(ByteBuffer, EmptyAppendAndShrink) {
  ByteBuffer b(16);
  b.Append(std::string_view());  // no bytes, no null pointer handed to memcpy
  EXPECT_TRUE(b.empty());
  b.Append(std::string(100000, 'x'));
  EXPECT_GE(b.capacity(), 100000u);
  b.Consume(100000);
  b.ShrinkIfEmpty(64 * 1024, 4096);
  EXPECT_EQ(b.capacity(), 4096u);
}

TEST(ByteBuffer, CapacityForPredictsReserve) {
  // Every combination of fill, consumed prefix and request on a small buffer.
  for (size_t used = 0; used <= 16; ++used) {
    for (size_t consumed = 0; consumed <= used; ++consumed) {
      for (size_t n = 0; n <= 40; ++n) {
        ByteBuffer b(16);
        b.Append(std::string(used, 'x'));
        b.Consume(consumed);
        const size_t predicted = b.CapacityFor(n);
        b.Reserve(n);
        ASSERT_EQ(b.capacity(), predicted) << used << " " << consumed << " " << n;
      }
    }
  }
}

TEST(ByteBuffer, ReserveInPlaceCompactsWithoutGrowing) {
  ByteBuffer b(16);
  b.Append("0123456789abcdef");
  b.Consume(10);
  char* dst = b.ReserveInPlace();
  EXPECT_EQ(b.capacity(), 16u);
  std::memcpy(dst, "ghijklmnop", 10);
  b.Commit(10);
  EXPECT_EQ(b.readable(), "abcdefghijklmnop");
}

}  // namespace
}  // namespace cachet::common
