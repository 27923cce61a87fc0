#include "storage/store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace cachet::storage {
namespace {

using common::Outcome;

StoreConfig SmallConfig(size_t limit = size_t{1} << 20) {
  StoreConfig c;
  c.memory_limit = limit;
  c.segment_size = 64 * 1024;
  c.min_segments = 4;
  c.shard_bits = 4;
  c.size_rule.max_total = 32 * 1024;
  return c;
}

class StoreTest : public ::testing::Test {
 protected:
  StoreTest() : store_(SmallConfig(size_t{8} << 20)), writer_(store_) {}

  std::optional<std::string> Get(std::string_view key, uint32_t now = 10) {
    std::optional<std::string> out;
    store_.Get(key, now, [&](const ItemView& v) { out = std::string(v.value); });
    return out;
  }
  uint64_t Cas(std::string_view key, uint32_t now = 10) {
    uint64_t cas = 0;
    store_.Get(key, now, [&](const ItemView& v) { cas = v.cas; });
    return cas;
  }
  Outcome Set(std::string_view key, std::string_view value, uint32_t exptime = 0, uint32_t now = 10,
              StoreMode mode = StoreMode::kSet, uint64_t cas = 0) {
    return store_.Put(writer_, mode, key, value, 0, exptime, cas, now);
  }

  Store store_;
  Store::Writer writer_;
};

TEST_F(StoreTest, SetGetReplaceDelete) {
  EXPECT_EQ(Set("a", "1"), Outcome::kStored);
  EXPECT_EQ(Get("a"), "1");
  EXPECT_EQ(Set("a", "22"), Outcome::kStored);
  EXPECT_EQ(Get("a"), "22");
  EXPECT_EQ(store_.Delete("a", 10), Outcome::kDeleted);
  EXPECT_EQ(Get("a"), std::nullopt);
  EXPECT_EQ(store_.Delete("a", 10), Outcome::kNotFound);
  EXPECT_EQ(store_.Stats().curr_items, 0u);
}

TEST_F(StoreTest, FlagsAndEmptyAndBinaryValues) {
  const std::string bin("\0\r\n\xff", 4);
  ASSERT_EQ(store_.Put(writer_, StoreMode::kSet, "k", bin, 4294967295u, 0, 0, 10),
            Outcome::kStored);
  store_.Get("k", 10, [&](const ItemView& v) {
    EXPECT_EQ(v.value, bin);
    EXPECT_EQ(v.flags, 4294967295u);
  });
  EXPECT_EQ(Set("e", ""), Outcome::kStored);
  EXPECT_EQ(Get("e"), "");
}

TEST_F(StoreTest, AddReplaceModes) {
  EXPECT_EQ(Set("k", "v", 0, 10, StoreMode::kReplace), Outcome::kNotStored);
  EXPECT_EQ(Set("k", "v", 0, 10, StoreMode::kAdd), Outcome::kStored);
  EXPECT_EQ(Set("k", "w", 0, 10, StoreMode::kAdd), Outcome::kNotStored);
  EXPECT_EQ(Set("k", "x", 0, 10, StoreMode::kReplace), Outcome::kStored);
  EXPECT_EQ(Get("k"), "x");
}

TEST_F(StoreTest, ExpiryWithManualTime) {
  EXPECT_EQ(Set("t", "v", /*exptime=*/15, /*now=*/10), Outcome::kStored);
  EXPECT_EQ(Get("t", 14), "v");
  EXPECT_EQ(Get("t", 15), std::nullopt);  // expires when now reaches exptime
  // An expired item is gone for add too.
  EXPECT_EQ(Set("t", "n", 0, 16, StoreMode::kAdd), Outcome::kStored);
  EXPECT_EQ(Get("t", 1000000), "n");  // exptime 0 never expires
  std::optional<ReadStatus> status;
  Set("u", "v", 20, 10);
  status = store_.Get("u", 25, [](const ItemView&) {});
  EXPECT_EQ(status, ReadStatus::kExpired);
}

TEST_F(StoreTest, TouchInPlaceAndByRewrite) {
  Set("a", "1", 20, 10);
  EXPECT_EQ(store_.Touch(writer_, "a", 100, 10), Outcome::kTouched);
  EXPECT_EQ(Get("a", 50), "1");
  Set("b", "2", 0, 10);  // stored without an exptime field
  EXPECT_EQ(store_.Touch(writer_, "b", 30, 10), Outcome::kTouched);
  EXPECT_EQ(Get("b", 29), "2");
  EXPECT_EQ(Get("b", 30), std::nullopt);
  EXPECT_EQ(store_.Touch(writer_, "missing", 30, 10), Outcome::kNotFound);
}

TEST_F(StoreTest, CasIsUniquePerVersion) {
  std::set<uint64_t> seen;
  for (int i = 0; i < 1000; ++i) {
    Set("k" + std::to_string(i % 10), std::to_string(i));
    const uint64_t cas = Cas("k" + std::to_string(i % 10));
    EXPECT_NE(cas, 0u);
    EXPECT_TRUE(seen.insert(cas).second) << "CAS reused at version " << i;
  }
  const uint64_t cas = Cas("k1");
  EXPECT_EQ(Set("k1", "new", 0, 10, StoreMode::kCas, cas + 1), Outcome::kExists);
  EXPECT_EQ(Set("k1", "new", 0, 10, StoreMode::kCas, cas), Outcome::kStored);
  EXPECT_EQ(Set("k1", "again", 0, 10, StoreMode::kCas, cas), Outcome::kExists);
  EXPECT_EQ(Set("nope", "x", 0, 10, StoreMode::kCas, 1), Outcome::kNotFound);
}

TEST_F(StoreTest, AppendPrependKeepFlagsAndExptime) {
  store_.Put(writer_, StoreMode::kSet, "k", "mid", 7, 50, 0, 10);
  EXPECT_EQ(Set("k", "_end", 0, 10, StoreMode::kAppend), Outcome::kStored);
  EXPECT_EQ(Set("k", "start_", 99, 10, StoreMode::kPrepend), Outcome::kStored);
  store_.Get("k", 10, [&](const ItemView& v) {
    EXPECT_EQ(v.value, "start_mid_end");
    EXPECT_EQ(v.flags, 7u);
    EXPECT_EQ(v.exptime, 50u);
  });
  EXPECT_EQ(Set("missing", "x", 0, 10, StoreMode::kAppend), Outcome::kNotStored);
}

TEST_F(StoreTest, ArithEdges) {
  uint64_t r = 0;
  Set("n", "18446744073709551615");
  EXPECT_EQ(store_.Arith(writer_, "n", true, 1, 10, &r), Outcome::kStored);
  EXPECT_EQ(r, 0u);  // incr wraps
  // The shorter result is padded to the old length, like memcached's in-place update.
  EXPECT_EQ(Get("n"), "0" + std::string(19, ' '));
  EXPECT_EQ(store_.Arith(writer_, "n", true, 5, 10, &r), Outcome::kStored);
  EXPECT_EQ(r, 5u);
  EXPECT_EQ(store_.Arith(writer_, "n", false, 100, 10, &r), Outcome::kStored);
  EXPECT_EQ(r, 0u);  // decr stops at 0
  Set("m", "99");
  EXPECT_EQ(store_.Arith(writer_, "m", true, 1, 10, &r), Outcome::kStored);
  EXPECT_EQ(Get("m"), "100");  // a longer result grows the value
  Set("s", "abc");
  EXPECT_EQ(store_.Arith(writer_, "s", true, 1, 10, &r), Outcome::kNonNumeric);
  EXPECT_EQ(store_.Arith(writer_, "none", true, 1, 10, &r), Outcome::kNotFound);
  const uint64_t before = Cas("m");
  store_.Arith(writer_, "m", true, 1, 10, &r);
  EXPECT_NE(Cas("m"), before);  // a new version gets a new CAS
}

// Flush is lazy, as memcached's: items stay counted until met, and each first meeting counts in
// get_flushed; the crawler reclaims the rest.
TEST_F(StoreTest, FlushHidesEverythingUntilMet) {
  for (int i = 0; i < 100; ++i) Set("k" + std::to_string(i), "v");
  store_.Flush();
  EXPECT_EQ(store_.Stats().curr_items, 100u);
  EXPECT_EQ(Get("k5"), std::nullopt);
  EXPECT_EQ(Get("k5"), std::nullopt);  // already dropped: not counted again
  EXPECT_EQ(store_.Stats().get_flushed, 1u);
  EXPECT_EQ(Set("k5", "again"), Outcome::kStored);  // written after the flush: kept
  EXPECT_EQ(Get("k5"), "again");
  EXPECT_EQ(Set("k6", "x", 0, 10, StoreMode::kReplace), Outcome::kNotStored);
  EXPECT_EQ(store_.Stats().get_flushed, 2u);
  EXPECT_EQ(store_.Stats().curr_items, 99u);
  std::vector<uint64_t> budget(static_cast<size_t>(store_.size_classes().count()) + 1, ~0ull);
  for (size_t shard = 0; shard < store_.shard_count(); ++shard) {
    for (size_t from = 0; from != Store::kListDone;) {
      from = store_.CrawlShard(shard, from, 16, 10, {}, &budget);
    }
  }
  const StoreStats s = store_.Stats();
  EXPECT_EQ(s.curr_items, 1u);
  EXPECT_EQ(s.crawler_reclaimed, 98u);
  EXPECT_EQ(s.crawler_items_checked, 99u);
  EXPECT_EQ(s.get_flushed, 2u);
  EXPECT_EQ(Get("k5"), "again");
}

TEST_F(StoreTest, FlushPrefixHidesOlderMatchingItemsUntilAFullCrawlRetiresIt) {
  for (int i = 0; i < 50; ++i) Set("p:" + std::to_string(i), "v");
  for (int i = 0; i < 50; ++i) Set("q:" + std::to_string(i), "v");
  ASSERT_TRUE(store_.FlushPrefix("p:"));
  EXPECT_EQ(Set("p:new", "w"), Outcome::kStored);  // same open segment, after the rule's fill
  EXPECT_EQ(Get("p:3"), std::nullopt);
  EXPECT_EQ(Get("p:new"), "w");
  EXPECT_EQ(Get("q:3"), "v");
  EXPECT_EQ(Set("p:4", "x", 0, 10, StoreMode::kReplace), Outcome::kNotStored);
  StoreStats s = store_.Stats();
  EXPECT_EQ(s.flush_prefix_items, 2u);
  EXPECT_EQ(s.flush_prefix_rules_active, 1u);
  std::vector<uint64_t> budget(static_cast<size_t>(store_.size_classes().count()) + 1, ~0ull);
  for (size_t shard = 0; shard < store_.shard_count(); ++shard) {
    for (size_t from = 0; from != Store::kListDone;) {
      from = store_.CrawlShard(shard, from, 8, 10, {}, &budget, /*full=*/true);
    }
  }
  s = store_.Stats();
  EXPECT_EQ(s.flush_prefix_items, 50u);
  EXPECT_EQ(s.flush_prefix_rules_active, 0u);
  EXPECT_EQ(s.curr_items, 51u);
  EXPECT_EQ(Get("p:new"), "w");
}

TEST(StorePrefix, EvictionNeverCarriesACoveredItemPastItsRule) {
  Store store(SmallConfig(size_t{1} << 20));
  Store::Writer w(store);
  const std::string value(1000, 'v');
  for (int i = 0; i < 200; ++i)
    store.Put(w, StoreMode::kSet, "old:" + std::to_string(i), value, 0, 0, 0, 10);
  // Read them all, so eviction would keep (move) them rather than drop them.
  for (int i = 0; i < 200; ++i) store.Get("old:" + std::to_string(i), 10, [](const ItemView&) {});
  ASSERT_TRUE(store.FlushPrefix("old:"));
  for (int i = 0; i < 3000; ++i) {  // several times the memory: every old segment is evicted
    store.Put(w, StoreMode::kSet, "new:" + std::to_string(i), value, 0, 0, 0, 10);
  }
  for (int i = 0; i < 200; ++i) {
    bool found = false;
    store.Get("old:" + std::to_string(i), 10, [&](const ItemView&) { found = true; });
    EXPECT_FALSE(found) << i;
  }
  EXPECT_GT(store.Stats().flush_prefix_items, 0u);
}

TEST(StorePrefix, RulesOfSeveralLengthsEachMatchTheirOwnPrefix) {
  Store store(SmallConfig());
  Store::Writer w(store);
  const char* keys[] = {"a", "ab", "ab:1", "abc", "abd", "b:1", "x"};
  for (const char* k : keys) store.Put(w, StoreMode::kSet, k, "v", 0, 0, 0, 10);
  ASSERT_TRUE(store.FlushPrefix("ab:"));
  ASSERT_TRUE(store.FlushPrefix("abc"));
  ASSERT_TRUE(store.FlushPrefix("b", /*stale=*/true));
  ASSERT_TRUE(store.FlushPrefix("abcdef"));  // longer than every key: matches none
  std::set<std::string> hits;
  bool b1_stale = false;
  for (const char* k : keys) {
    store.Get(k, 10, [&](const ItemView& v) {
      hits.insert(std::string(v.key));
      if (v.key == "b:1") b1_stale = v.stale;
    });
  }
  EXPECT_EQ(hits, (std::set<std::string>{"a", "ab", "abd", "b:1", "x"}));
  EXPECT_TRUE(b1_stale);  // the stale rule marks, the others drop
  EXPECT_EQ(store.Stats().flush_prefix_items, 3u);
}

TEST(StorePrefix, RuleTableIsBoundedAndAFlushClearsIt) {
  StoreConfig c = SmallConfig();
  c.max_prefix_rules = 2;
  Store store(c);
  EXPECT_TRUE(store.FlushPrefix("a"));
  EXPECT_TRUE(store.FlushPrefix("b"));
  EXPECT_FALSE(store.FlushPrefix("c"));
  store.Flush();  // everything the rules covered is flushed too
  EXPECT_EQ(store.Stats().flush_prefix_rules_active, 0u);
  EXPECT_TRUE(store.FlushPrefix("c"));
}

TEST_F(StoreTest, CrawlReclaimsExpiredItemsOfTheWantedClassesWithinBudget) {
  for (int i = 0; i < 40; ++i) Set("e" + std::to_string(i), "v", 20);  // expires at 20
  for (int i = 0; i < 10; ++i) Set("l" + std::to_string(i), "v");
  Set("big", std::string(5000, 'b'), 20);
  const size_t classes = static_cast<size_t>(store_.size_classes().count()) + 1;
  const size_t small = static_cast<size_t>(store_.ClassOf(2, 0, 1));
  const size_t big = static_cast<size_t>(store_.ClassOf(3, 0, 5000));
  ASSERT_NE(small, big);
  std::vector<bool> wanted(classes, false);
  wanted[small] = true;
  std::vector<uint64_t> budget(classes, 30);  // tocrawl 30
  auto crawl = [&](uint32_t now) {
    for (size_t shard = 0; shard < store_.shard_count(); ++shard) {
      for (size_t from = 0; from != Store::kListDone;) {
        from = store_.CrawlShard(shard, from, 7, now, wanted, &budget);
      }
    }
  };
  crawl(15);  // nothing has expired yet
  StoreStats s = store_.Stats();
  EXPECT_EQ(s.crawler_items_checked, 30u);
  EXPECT_EQ(s.crawler_reclaimed, 0u);
  budget.assign(classes, 100);
  crawl(25);
  s = store_.Stats();
  EXPECT_EQ(s.crawler_items_checked, 80u);
  EXPECT_EQ(s.crawler_reclaimed, 40u);
  EXPECT_EQ(s.curr_items, 11u);  // the big one is of a class not crawled
  EXPECT_EQ(store_.ClassTotals()[small].crawler_reclaimed, 40u);
  EXPECT_EQ(store_.ClassTotals()[big].crawler_items_checked, 0u);
}

// A touch of an item without an exptime field rewrites it with one and with its CAS stored; the
// space planned for that must cover the largest CAS (a varint), or the copy runs past its room.
// Epochs are advanced first so CASes are several bytes long.
TEST(StoreRewrite, TouchRewritesStayWithinTheirRoom) {
  Store store(SmallConfig(size_t{1} << 20));
  Store::Writer w(store);
  for (int i = 0; i < 3000; ++i) {  // ~600 segments of 64 KiB handed out
    store.Put(w, StoreMode::kSet, "fill" + std::to_string(i % 100), std::string(12000, 'f'), 0, 0,
              0, 10);
  }
  for (uint32_t len : {0u, 1u, 60u, 70u, 80u, 90u, 500u, 5000u, 30000u}) {
    const std::string key = "t" + std::to_string(len);
    const std::string value(len, 'v');
    ASSERT_EQ(store.Put(w, StoreMode::kSet, key, value, 7, 0, 0, 10), Outcome::kStored);
    uint64_t cas = 0;
    store.Get(key, 10, [&](const ItemView& v) { cas = v.cas; });
    ASSERT_GE(cas, uint64_t{1} << 21) << "a CAS this small takes fewer than 4 varint bytes";
    ASSERT_EQ(store.Touch(w, key, 1000, 10), Outcome::kTouched) << len;
    store.Get(key, 10, [&](const ItemView& v) {
      EXPECT_EQ(v.value, value);
      EXPECT_EQ(v.cas, cas);
      EXPECT_EQ(v.exptime, 1000u);
      EXPECT_EQ(v.flags, 7u);
    });
  }
}

// Prefetch is only a hint: it changes no item, bit or counter, whatever the keys.
TEST_F(StoreTest, PrefetchChangesNothing) {
  ASSERT_EQ(Set("present", "value"), Outcome::kStored);
  const std::string long_key(300, 'k');
  const std::string_view keys[] = {"present", "missing", "", long_key, "present"};
  store_.Prefetch(keys, 5);
  bool fetched_before = true;
  store_.Get("present", 10, [&](const ItemView& v) { fetched_before = v.fetched_before; });
  EXPECT_FALSE(fetched_before);
  EXPECT_EQ(Get("missing"), std::nullopt);
  EXPECT_EQ(store_.Stats().curr_items, 1u);
}

TEST(StoreEviction, StaysWithinBudgetAndKeepsRecentAndHotItems) {
  const size_t limit = size_t{1} << 20;
  Store store(SmallConfig(limit));
  Store::Writer w(store);
  const std::string value(100, 'v');
  const int total = 40000;  // ~4.5 MB of items into a 1 MiB budget
  for (int i = 0; i < total; ++i) {
    ASSERT_EQ(store.Put(w, StoreMode::kSet, "key" + std::to_string(i), value, 0, 0, 0, 10),
              Outcome::kStored);
    // Keep reading one hot key so it is kept across evictions.
    store.Get("key0", 10, [](const ItemView&) {});
  }
  const StoreStats s = store.Stats();
  EXPECT_GT(s.evictions, 0u);
  EXPECT_LE(s.segments_in_use * s.segment_size + s.index_bytes, limit + s.segment_size);
  int recent = 0;
  for (int i = total - 100; i < total; ++i) {
    recent += store.Get("key" + std::to_string(i), 10, [](const ItemView&) {}) == ReadStatus::kHit;
  }
  EXPECT_EQ(recent, 100);
  EXPECT_EQ(store.Get("key0", 10, [](const ItemView&) {}), ReadStatus::kHit);
  EXPECT_EQ(store.Get("key1", 10, [](const ItemView&) {}), ReadStatus::kMiss);
  EXPECT_EQ(s.curr_items + s.evictions, static_cast<uint64_t>(total));
}

TEST(StoreEviction, KeptItemsKeepTheirCas) {
  Store store(SmallConfig(size_t{1} << 20));
  Store::Writer w(store);
  const std::string value(100, 'v');
  // A run of items that are all read: eviction must keep (most of) them, CAS unchanged.
  std::vector<uint64_t> cas(50);
  for (int i = 0; i < 50; ++i) {
    store.Put(w, StoreMode::kSet, "hot" + std::to_string(i), value, 0, 0, 0, 10);
  }
  for (int round = 0; round < 40; ++round) {
    for (int i = 0; i < 50; ++i) {
      store.Get("hot" + std::to_string(i), 10, [&](const ItemView& v) {
        if (round == 0) cas[i] = v.cas;
        EXPECT_EQ(v.cas, cas[i]);
      });
    }
    for (int j = 0; j < 1000; ++j) {
      store.Put(w, StoreMode::kSet, "cold" + std::to_string(round * 1000 + j), value, 0, 0, 0, 10);
    }
  }
  ASSERT_GT(store.Stats().evictions, 30000u);  // the budget turned over many times
  int alive = 0;
  for (int i = 0; i < 50; ++i) {
    alive += store.Get("hot" + std::to_string(i), 10, [](const ItemView&) {}) == ReadStatus::kHit;
  }
  EXPECT_EQ(alive, 50);
}

// Items read while new move to the main queue, which only a flow of other read items turns
// over: a flood of writes that are never read (a scan, or the sets after misses of a skewed
// load) passes through probation and leaves them alone, CAS, stale mark and all. A plain
// second-chance FIFO would drop them on its second pass over the cache.
TEST(StoreEviction, ReadItemsSurviveAFloodOfUnreadWrites) {
  Store store(SmallConfig(size_t{1} << 20));
  Store::Writer w(store);
  const std::string value(100, 'v');
  std::vector<uint64_t> cas(50);
  for (int i = 0; i < 50; ++i) {
    store.Put(w, StoreMode::kSet, "hot" + std::to_string(i), value, 0, 0, 0, 10);
  }
  ASSERT_EQ(store.Invalidate(w, "hot0", 0, false, 0, 10), Outcome::kStored);
  for (int i = 0; i < 50; ++i) {
    store.Get("hot" + std::to_string(i), 10, [&](const ItemView& v) { cas[i] = v.cas; });
  }
  for (int j = 0; j < 40000; ++j) {  // ~4.5 MB through a 1 MiB budget
    store.Put(w, StoreMode::kSet, "cold" + std::to_string(j), value, 0, 0, 0, 10);
  }
  ASSERT_GT(store.Stats().evictions, 30000u);
  for (int i = 0; i < 50; ++i) {
    bool stale = false;
    ASSERT_EQ(store.Peek("hot" + std::to_string(i), 10,
                         [&](const ItemView& v) {
                           EXPECT_EQ(v.cas, cas[i]) << i;
                           stale = v.stale;
                         }),
              ReadStatus::kHit)
        << i;
    EXPECT_EQ(stale, i == 0) << i;
  }
}

// The main queue is not a freezer: items read once and never again make way for newer items
// that keep being read.
TEST(StoreEviction, MainQueueTurnsOverForNewlyReadItems) {
  Store store(SmallConfig(size_t{1} << 20));
  Store::Writer w(store);
  const std::string value(100, 'v');
  for (int i = 0; i < 50; ++i) {
    store.Put(w, StoreMode::kSet, "old" + std::to_string(i), value, 0, 0, 0, 10);
    store.Get("old" + std::to_string(i), 10, [](const ItemView&) {});
  }
  for (int j = 0; j < 40000; ++j) {
    const std::string key = "new" + std::to_string(j);
    store.Put(w, StoreMode::kSet, key, value, 0, 0, 0, 10);
    store.Get(key, 10, [](const ItemView&) {});
  }
  int old_alive = 0;
  for (int i = 0; i < 50; ++i) {
    old_alive +=
        store.Peek("old" + std::to_string(i), 10, [](const ItemView&) {}) == ReadStatus::kHit;
  }
  EXPECT_EQ(old_alive, 0);
  int recent = 0;
  for (int j = 40000 - 100; j < 40000; ++j) {
    recent += store.Peek("new" + std::to_string(j), 10, [](const ItemView&) {}) == ReadStatus::kHit;
  }
  EXPECT_EQ(recent, 100);
}

// Dead items of sizes that are not multiples of 8 before runs of read items leave gaps when the
// kept items grow by their stored CAS; compacting such a segment again must still find every item
// (the index never keeps entries eviction cannot see).
TEST(StoreEviction, RepeatedCompactionKeepsIndexConsistent) {
  Store store(SmallConfig(size_t{1} << 20));
  Store::Writer w(store);
  std::vector<std::string> keys;
  const int groups = 2000;
  for (int i = 0; i < groups; ++i) {
    store.Put(w, StoreMode::kSet, "d" + std::to_string(i), "DDDD", 0, 0, 0, 10);
    for (int j = 0; j < 3; ++j) {
      keys.push_back("h" + std::to_string(i) + "_" + std::to_string(j));
      store.Put(w, StoreMode::kSet, keys.back(), std::string(40, 'h'), 0, 0, 0, 10);
    }
  }
  for (int i = 0; i < groups; ++i) store.Delete("d" + std::to_string(i), 10);
  auto read_all = [&] {
    int n = 0;
    for (const auto& k : keys) n += store.Get(k, 10, [](const ItemView&) {}) == ReadStatus::kHit;
    return n;
  };
  for (int round = 0; round < 3; ++round) {
    read_all();
    for (int i = 0; i < 200; ++i) {
      keys.push_back("f" + std::to_string(round) + "_" + std::to_string(i));
      store.Put(w, StoreMode::kSet, keys.back(), std::string(5000, 'f'), 0, 0, 0, 10);
    }
  }
  EXPECT_EQ(static_cast<uint64_t>(read_all()), store.Stats().curr_items);
  EXPECT_GT(store.Stats().evictions, 0u);
}

TEST(StoreEviction, LargeItemDoesNotCauseAnEvictionStorm) {
  Store store(SmallConfig(size_t{2} << 20));
  Store::Writer w(store);
  const std::string small(1000, 's');
  for (int i = 0; i < 1500; ++i) {
    store.Put(w, StoreMode::kSet, "k" + std::to_string(i), small, 0, 0, 0, 10);
  }
  for (int i = 0; i < 1500; ++i) store.Get("k" + std::to_string(i), 10, [](const ItemView&) {});
  const uint64_t before = store.Stats().evictions;
  ASSERT_EQ(store.Put(w, StoreMode::kSet, "big", std::string(30000, 'b'), 0, 0, 0, 10),
            Outcome::kStored);
  // One segment's worth (64 KiB of 1 KiB items) at most, not the whole cache.
  EXPECT_LT(store.Stats().evictions - before, 70u);
}

TEST(StoreEviction, DisabledEvictionReusesDeadSegments) {
  StoreConfig c = SmallConfig(size_t{1} << 20);
  c.evict = false;
  Store store(c);
  Store::Writer w(store);
  const std::string value(10000, 'v');
  // Overwriting one key leaves only dead versions behind: that space must come back.
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(store.Put(w, StoreMode::kSet, "k", value, 0, 0, 0, 10), Outcome::kStored) << i;
  }
  // So must the space of flushed items.
  for (int i = 0; i < 1000; ++i) {
    if (store.Put(w, StoreMode::kSet, "n" + std::to_string(i), value, 0, 0, 0, 10) !=
        Outcome::kStored) {
      break;
    }
  }
  store.Flush();
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(store.Put(w, StoreMode::kSet, "m" + std::to_string(i), value, 0, 0, 0, 10),
              Outcome::kStored);
  }
}

TEST(StoreEviction, DisabledEvictionRefuses) {
  StoreConfig c = SmallConfig(size_t{1} << 20);
  c.evict = false;
  Store store(c);
  Store::Writer w(store);
  const std::string value(1000, 'v');
  Outcome last = Outcome::kStored;
  int stored = 0;
  for (int i = 0; i < 5000 && last == Outcome::kStored; ++i) {
    last = store.Put(w, StoreMode::kSet, "k" + std::to_string(i), value, 0, 0, 0, 10);
    stored += last == Outcome::kStored;
  }
  EXPECT_EQ(last, Outcome::kNoMemory);
  EXPECT_GT(stored, 100);
  EXPECT_EQ(store.Stats().evictions, 0u);
}

TEST(StoreEviction, ExpiredItemsAreReclaimedNotEvicted) {
  Store store(SmallConfig(size_t{1} << 20));
  Store::Writer w(store);
  const std::string value(100, 'v');
  for (int i = 0; i < 40000; ++i) {
    store.Put(w, StoreMode::kSet, "k" + std::to_string(i), value, 0, /*exptime=*/20, 0, 10);
  }
  // Later writes, after those expired, reuse their space without counting evictions.
  const uint64_t before = store.Stats().evictions;
  for (int i = 0; i < 40000; ++i) {
    store.Put(w, StoreMode::kSet, "n" + std::to_string(i), value, 0, 0, 0, 30);
  }
  const StoreStats s = store.Stats();
  EXPECT_GT(s.reclaimed, 0u);
  EXPECT_GT(s.evictions, before);  // the new items themselves overflow the budget eventually
}

// Writers store values whose every byte encodes (key, version); readers check that a value is
// never a mix of two versions or cut short, while eviction runs underneath.
TEST(StoreConcurrency, NoTornValues) {
  Store store(SmallConfig(size_t{2} << 20));
  constexpr int kKeys = 64;
  constexpr int kWriters = 3;
  constexpr int kReaders = 3;
  constexpr int kIterations = 20000;
  std::atomic<bool> failed{false};
  std::atomic<int> writers_done{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kWriters; ++t) {
    threads.emplace_back([&, t] {
      Store::Writer w(store);
      for (int i = 0; i < kIterations; ++i) {
        const int k = (i * 7 + t) % kKeys;
        const char fill = static_cast<char>('a' + (i + t) % 26);
        const size_t len = 10 + static_cast<size_t>((i * 13 + t) % 300);
        std::string v(len, fill);
        v[0] = static_cast<char>('0' + len % 10);
        const Outcome o =
            (i % 5 == 0)
                ? store.Put(w, StoreMode::kAppend, "k" + std::to_string(k), "", 0, 0, 0, 10)
                : store.Put(w, StoreMode::kSet, "k" + std::to_string(k), v, 0, 0, 0, 10);
        if (o == Outcome::kNoMemory) failed = true;
        // Filler keeps live data above the budget so eviction runs all along.
        store.Put(w, StoreMode::kSet, "f" + std::to_string(t) + "_" + std::to_string(i),
                  std::string(100, 'f'), 0, 0, 0, 10);
      }
      writers_done.fetch_add(1);
    });
  }
  for (int t = 0; t < kReaders; ++t) {
    threads.emplace_back([&] {
      while (writers_done.load() < kWriters) {
        for (int k = 0; k < kKeys; ++k) {
          store.Get("k" + std::to_string(k), 10, [&](const ItemView& v) {
            const std::string_view s = v.value;
            if (s.size() < 10 || s[0] != static_cast<char>('0' + s.size() % 10)) failed = true;
            for (size_t i = 2; i < s.size(); ++i) {
              if (s[i] != s[1]) failed = true;
            }
          });
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_FALSE(failed.load());
  EXPECT_GT(store.Stats().evictions, 0u);
}

TEST(StoreConcurrency, ConcurrentIncrementsAreNotLost) {
  Store store(SmallConfig(size_t{4} << 20));
  {
    Store::Writer w(store);
    store.Put(w, StoreMode::kSet, "n", "0", 0, 0, 0, 10);
  }
  constexpr int kThreads = 4;
  constexpr int kEach = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      Store::Writer w(store);
      uint64_t r;
      for (int i = 0; i < kEach; ++i) store.Arith(w, "n", true, 1, 10, &r);
    });
  }
  for (auto& th : threads) th.join();
  std::string v;
  store.Get("n", 10, [&](const ItemView& item) { v = std::string(item.value); });
  EXPECT_EQ(std::stoull(v), static_cast<uint64_t>(kThreads * kEach));
}

}  // namespace
}  // namespace cachet::storage
