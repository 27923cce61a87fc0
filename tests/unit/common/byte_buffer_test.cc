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

// A buffer that grew for one large request gives its block to the pool when it shrinks (or
// goes), and the next one of that size reuses it: the same memory, no fresh pages.
TEST(ByteBuffer, LargeBlocksGoBackToThePoolAndAreReused) {
  BufferPool pool(4 << 20);
  const char* first = nullptr;
  {
    ByteBuffer b(4096, &pool);
    first = b.Reserve(1 << 20);
    b.Commit(1 << 20);
    b.Consume(1 << 20);
    b.ShrinkIfEmpty(16 * 1024, 4096);
    EXPECT_EQ(b.capacity(), 4096u);
    EXPECT_EQ(pool.kept_bytes(), size_t{1} << 20);
    EXPECT_EQ(b.Reserve(1 << 20), first);  // taken back
    EXPECT_EQ(pool.kept_bytes(), 0u);
  }
  EXPECT_EQ(pool.kept_bytes(), size_t{1} << 20);  // given back when the buffer went
  ByteBuffer other(4096, &pool);
  EXPECT_EQ(other.Reserve(1 << 20), first);
}

TEST(BufferPool, KeepsOnlyLargeBlocksAndAtMostItsBound) {
  BufferPool pool(3 << 20);
  pool.Give(std::unique_ptr<char[]>(new char[16 * 1024]), 16 * 1024);
  EXPECT_EQ(pool.kept_bytes(), 0u);  // malloc's heap keeps small ones
  for (int i = 0; i < 4; ++i) pool.Give(std::unique_ptr<char[]>(new char[1 << 20]), 1 << 20);
  EXPECT_EQ(pool.kept_bytes(), size_t{3} << 20);           // the fourth was freed
  const std::unique_ptr<char[]> two = pool.Take(2 << 20);  // no block of that size: a new one
  EXPECT_NE(two, nullptr);
  EXPECT_EQ(pool.kept_bytes(), size_t{3} << 20);
}

}  // namespace
}  // namespace cachet::common
