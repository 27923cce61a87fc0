#include "storage/hash_index.h"

#include <gtest/gtest.h>

#include <random>
#include <unordered_map>

namespace cachet::storage {
namespace {

TEST(HashIndex, InsertFindEraseAgainstAModel) {
  HashIndex index(/*loc_bits=*/24, 8);
  std::unordered_map<uint64_t, uint64_t> model;  // hash -> location
  std::mt19937_64 rng(42);
  for (int i = 0; i < 20000; ++i) {
    const uint64_t h = rng() & ~((uint64_t{1} << 28) - 1);  // distinct stored bits
    if (model.count(h)) continue;
    const uint64_t loc = 1 + (rng() % ((uint64_t{1} << 24) - 1));
    if (i % 3 == 2 && !model.empty()) {
      const auto it = model.begin();
      const size_t slot = index.Find(it->first, [&](uint64_t l) { return l == it->second; });
      ASSERT_NE(slot, HashIndex::kNotFound);
      index.EraseAt(slot);
      model.erase(it);
    }
    index.Insert(h, loc);
    model[h] = loc;
  }
  EXPECT_EQ(index.size(), model.size());
  for (const auto& [h, loc] : model) {
    const size_t slot = index.Find(h, [&](uint64_t l) { return l == loc; });
    ASSERT_NE(slot, HashIndex::kNotFound);
    EXPECT_EQ(index.Location(index.entry_at(slot)), loc);
  }
  EXPECT_LE(index.size() * 100, index.capacity() * 85);  // load factor bound
}

TEST(HashIndex, AccessBitsAndRelocation) {
  HashIndex index(20);
  const uint64_t h = uint64_t{0xabcdef} << 40;
  index.Insert(h, 100);
  size_t slot = index.Find(h, [](uint64_t l) { return l == 100; });
  ASSERT_NE(slot, HashIndex::kNotFound);
  index.SetBits(slot, index.accessed_bit() | index.fetched_bit());
  EXPECT_TRUE(index.HasBits(slot, index.accessed_bit()));
  index.SetLocation(slot, 200, index.fetched_bit());
  EXPECT_FALSE(index.HasBits(slot, index.accessed_bit()));
  EXPECT_TRUE(index.HasBits(slot, index.fetched_bit()));
  EXPECT_EQ(index.Location(index.entry_at(slot)), 200u);
  // The access bits never take part in matching.
  EXPECT_NE(index.Find(h, [](uint64_t l) { return l == 200; }), HashIndex::kNotFound);
}

}  // namespace
}  // namespace cachet::storage
