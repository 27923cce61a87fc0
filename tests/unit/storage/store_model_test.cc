// Random operations against a model: under eviction a key may be missing, but a hit must always
// be the latest value written (never an older version or another key's), its CAS must not change
// while nobody writes it (eviction moves and touches keep it), and the index must hold exactly
// the items that can be read.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

#include "storage/store.h"

namespace cachet::storage {
namespace {

using common::Outcome;

class StoreModelTest : public ::testing::TestWithParam<int> {};

TEST_P(StoreModelTest, HitsAreAlwaysTheLatestVersion) {
  StoreConfig c;
  c.memory_limit = size_t{1} << 20;
  c.segment_size = 64 * 1024;
  c.min_segments = 4;
  c.shard_bits = 4;
  c.size_rule.max_total = 16 * 1024;
  Store store(c);
  Store::Writer w(store);
  std::mt19937 rng(static_cast<unsigned>(GetParam()));
  std::map<std::string, std::string> model;  // latest value written (absent: deleted/never)
  std::map<std::string, uint64_t> cas_seen;  // CAS read since the last write of the key
  const std::string filler(300, 'x');
  auto value_for = [&](const std::string& key, int version) {
    std::string v = key + "#" + std::to_string(version) + "#";
    v.append(rng() % 200, static_cast<char>('a' + version % 26));
    return v;
  };
  int version = 0;
  for (int i = 0; i < 60000; ++i) {
    const std::string key = "k" + std::to_string(rng() % 3000);
    const unsigned op = rng() % 100;
    if (op < 45) {
      const std::string v = value_for(key, ++version);
      ASSERT_EQ(store.Put(w, StoreMode::kSet, key, v, 0, 0, 0, 10), Outcome::kStored);
      model[key] = v;
      cas_seen.erase(key);
    } else if (op < 55) {
      const Outcome o = store.Put(w, StoreMode::kAppend, key, "+", 0, 0, 0, 10);
      if (o == Outcome::kStored) model[key] += "+";
      cas_seen.erase(key);
    } else if (op < 60) {
      store.Delete(key, 10);
      model.erase(key);
      cas_seen.erase(key);
    } else if (op < 62) {
      // A touch gives the item an exptime (rewriting it the first time) and keeps its CAS.
      store.Touch(w, key, 1000000 + version, 10);
    } else if (op < 67) {
      // A cas with the CAS just read succeeds; a stale one fails.
      uint64_t cas = 0;
      store.Get(key, 10, [&](const ItemView& v) { cas = v.cas; });
      if (cas != 0) {
        const std::string v = value_for(key, ++version);
        ASSERT_EQ(store.Put(w, StoreMode::kCas, key, v, 0, 0, cas, 10), Outcome::kStored);
        model[key] = v;
        cas_seen.erase(key);
        ASSERT_EQ(store.Put(w, StoreMode::kCas, key, v, 0, 0, cas, 10), Outcome::kExists);
      }
    } else if (op < 70) {
      // Cold filler keeps eviction busy.
      store.Put(w, StoreMode::kSet, "f" + std::to_string(i), filler, 0, 0, 0, 10);
    } else {
      const auto it = model.find(key);
      store.Get(key, 10, [&](const ItemView& v) {
        ASSERT_NE(it, model.end()) << "deleted key " << key << " came back";
        ASSERT_EQ(v.value, it->second) << "stale or foreign value for " << key;
        const auto [seen, first] = cas_seen.emplace(key, v.cas);
        ASSERT_TRUE(first || seen->second == v.cas) << "CAS of " << key << " changed unwritten";
      });
    }
  }
  uint64_t readable = 0;
  for (const auto& [key, value] : model) {
    store.Get(key, 10, [&](const ItemView& v) {
      EXPECT_EQ(v.value, value);
      ++readable;
    });
  }
  for (int i = 0; i < 60000; ++i) {
    readable += store.Get("f" + std::to_string(i), 10, [](const ItemView&) {}) == ReadStatus::kHit;
  }
  const StoreStats s = store.Stats();
  EXPECT_EQ(readable, s.curr_items);
  EXPECT_GT(s.evictions, 0u);
}

INSTANTIATE_TEST_SUITE_P(Seeds, StoreModelTest, ::testing::Values(1, 2, 3, 4));

}  // namespace
}  // namespace cachet::storage
