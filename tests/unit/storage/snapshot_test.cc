#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "storage/crc32c.h"
#include "storage/snapshot_file.h"
#include "storage/store.h"

namespace cachet::storage {
namespace {

using common::Outcome;

constexpr uint32_t kNow = 100;
constexpr int64_t kBase = 1'700'000'000;  // Unix time of server time 0 in these tests

StoreConfig Config(size_t limit = size_t{8} << 20) {
  StoreConfig c;
  c.memory_limit = limit;
  c.segment_size = 64 * 1024;
  c.min_segments = 4;
  c.shard_bits = 4;
  c.size_rule.max_total = 32 * 1024;
  return c;
}

SnapshotMeta Meta(bool clean = true) {
  SnapshotMeta m;
  m.clean = clean;
  m.save_time = kBase + kNow;
  m.time_base = kBase;
  m.item_size_max = 32 * 1024;
  return m;
}

LoadOptions Options(int64_t unix_now = kBase + kNow) {
  LoadOptions o;
  o.unix_now = unix_now;
  o.item_size_max = 32 * 1024;
  return o;
}

struct Seen {
  std::string value;
  uint32_t flags;
  uint32_t exptime;
  uint64_t cas;
  bool fetched;
  bool stale;
  bool token;
};

std::optional<Seen> Peek(Store& s, std::string_view key, uint32_t now = kNow) {
  std::optional<Seen> out;
  s.Peek(key, now, [&](const ItemView& v) {
    out = Seen{std::string(v.value), v.flags, v.exptime,   v.cas,
               v.fetched_before,     v.stale, v.token_sent};
  });
  return out;
}

class SnapshotTest : public ::testing::Test {
 protected:
  SnapshotTest() {
    dir_ = std::filesystem::temp_directory_path() /
           ("cachet-snapshot-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "cache.snapshot").string();
  }
  ~SnapshotTest() override { std::filesystem::remove_all(dir_); }

  SaveResult Save(Store& s, const SnapshotMeta& meta = Meta()) {
    return SaveSnapshot(s, meta, kNow, path_);
  }
  LoadResult Load(const StoreConfig& config = Config(), const LoadOptions& o = Options()) {
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd, 0);
    FileSource src(fd);
    LoadResult r = LoadSnapshot(src, config, o);
    ::close(fd);
    return r;
  }
  std::string Bytes() {
    std::ifstream f(path_, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  }
  LoadResult LoadBytes(const std::string& b, const LoadOptions& o = Options()) {
    MemorySource src(reinterpret_cast<const uint8_t*>(b.data()), b.size());
    return LoadSnapshot(src, Config(), o);
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST(Crc32c, KnownValueAndStreaming) {
  EXPECT_EQ(Crc32c("123456789", 9), 0xe3069283u);
  EXPECT_EQ(Crc32c("56789", 5, Crc32c("1234", 4)), 0xe3069283u);
  EXPECT_EQ(Crc32c("", 0), 0u);
}

TEST_F(SnapshotTest, RoundTripKeepsValuesFlagsExpiryCasAndState) {
  Store before(Config());
  std::map<std::string, Seen> expect;
  {
    Store::Writer w(before);
    std::mt19937 rng(7);
    for (int i = 0; i < 3000; ++i) {
      const std::string key = "key:" + std::to_string(i);
      std::string value(rng() % 3000, '\0');
      for (char& c : value) c = static_cast<char>(rng());
      const uint32_t flags = i % 3 == 0 ? 0 : static_cast<uint32_t>(rng());
      const uint32_t exptime = i % 4 == 0 ? 0 : kNow + 1000 + i;
      ASSERT_EQ(before.Put(w, StoreMode::kSet, key, value, flags, exptime, 0, kNow),
                Outcome::kStored);
    }
    // A touch that rewrites (a stored CAS), reads (fetched, accessed), a stale item and a won
    // token.
    ASSERT_EQ(before.Put(w, StoreMode::kSet, "touched", "t", 0, 0, 0, kNow), Outcome::kStored);
    ASSERT_EQ(before.Touch(w, "touched", kNow + 500, kNow), Outcome::kTouched);
    before.Get("key:10", kNow, [](const ItemView&) {});
    ASSERT_EQ(before.Invalidate(w, "key:11", 0, false, 0, kNow), Outcome::kStored);
    MetaGetOptions vivify;
    vivify.vivify = true;
    vivify.vivify_exptime = kNow + 30;
    before.MetaGet(w, "vivified", kNow, vivify, [](const ItemView&) {});
    ASSERT_EQ(before.Delete("key:12", kNow), Outcome::kDeleted);
  }
  for (int i = 0; i < 3000; ++i) {
    const std::string key = "key:" + std::to_string(i);
    if (auto v = Peek(before, key)) expect[key] = *v;
  }
  for (const char* k : {"touched", "vivified"}) expect[k] = *Peek(before, k);
  ASSERT_TRUE(expect.at("key:10").fetched);
  ASSERT_TRUE(expect.at("key:11").stale);
  ASSERT_TRUE(expect.at("vivified").token);

  const SaveResult saved = Save(before);
  ASSERT_TRUE(saved.ok) << saved.error;
  EXPECT_EQ(saved.items, expect.size());
  // Only live bytes, and a little metadata: within 2 % of the live item bytes.
  EXPECT_LE(saved.file_bytes, before.Stats().bytes * 102 / 100);

  LoadResult r = Load();
  ASSERT_NE(r.store, nullptr) << r.reason;
  EXPECT_EQ(r.loaded_items, expect.size());
  EXPECT_EQ(r.expired_items, 0u);
  Store& after = *r.store;
  EXPECT_EQ(after.Stats().curr_items, expect.size());
  EXPECT_EQ(after.Stats().bytes, before.Stats().bytes);
  uint64_t max_cas = 0;
  for (const auto& [key, want] : expect) {
    const auto got = Peek(after, key);
    ASSERT_TRUE(got) << key;
    EXPECT_EQ(got->value, want.value) << key;
    EXPECT_EQ(got->flags, want.flags) << key;
    EXPECT_EQ(got->exptime, want.exptime) << key;
    EXPECT_EQ(got->cas, want.cas) << key;
    EXPECT_EQ(got->fetched, want.fetched) << key;
    EXPECT_EQ(got->stale, want.stale) << key;
    EXPECT_EQ(got->token, want.token) << key;
    max_cas = std::max(max_cas, want.cas);
  }
  EXPECT_FALSE(Peek(after, "key:12"));
  // Every CAS issued after the load is greater than any before it.
  Store::Writer w(after);
  uint64_t cas = 0;
  ASSERT_EQ(after.Put(w, StoreMode::kSet, "new", "v", 0, 0, 0, kNow, &cas), Outcome::kStored);
  EXPECT_GT(cas, max_cas);
  ASSERT_EQ(after.Put(w, StoreMode::kSet, "key:5", "v", 0, 0, 0, kNow, &cas), Outcome::kStored);
  EXPECT_GT(cas, max_cas);
  EXPECT_EQ(r.meta.time_base, kBase);
  EXPECT_TRUE(r.meta.clean);
}

TEST_F(SnapshotTest, ItemsWhoseTimePassedWhileDownAreDroppedAndCounted) {
  Store before(Config());
  {
    Store::Writer w(before);
    ASSERT_EQ(before.Put(w, StoreMode::kSet, "short", "1", 0, kNow + 10, 0, kNow),
              Outcome::kStored);
    ASSERT_EQ(before.Put(w, StoreMode::kSet, "long", "2", 0, kNow + 1000, 0, kNow),
              Outcome::kStored);
    ASSERT_EQ(before.Put(w, StoreMode::kSet, "never", "3", 0, 0, 0, kNow), Outcome::kStored);
  }
  ASSERT_TRUE(Save(before).ok);
  LoadResult r = Load(Config(), Options(kBase + kNow + 100));
  ASSERT_NE(r.store, nullptr) << r.reason;
  EXPECT_EQ(r.loaded_items, 2u);
  EXPECT_EQ(r.expired_items, 1u);
  EXPECT_FALSE(Peek(*r.store, "short", kNow + 100));
  EXPECT_TRUE(Peek(*r.store, "long", kNow + 100));
  EXPECT_TRUE(Peek(*r.store, "never", kNow + 100));
}

TEST_F(SnapshotTest, RejectsWhatDoesNotMatch) {
  Store before(Config());
  {
    Store::Writer w(before);
    ASSERT_EQ(before.Put(w, StoreMode::kSet, "k", "v", 0, 0, 0, kNow), Outcome::kStored);
  }
  ASSERT_TRUE(Save(before).ok);
  StoreConfig other = Config();
  other.segment_size = 128 * 1024;
  EXPECT_NE(Load(other).reason.find("segment size changed"), std::string::npos);
  LoadOptions o = Options();
  o.item_size_max = 16 * 1024;
  EXPECT_NE(Load(Config(), o).reason.find("-I changed"), std::string::npos);
  o = Options();
  o.cas_enabled = false;
  EXPECT_NE(Load(Config(), o).reason.find("-C changed"), std::string::npos);
  EXPECT_NE(Load(Config(), Options(kBase + kNow - 5)).reason.find("clock moved back"),
            std::string::npos);
  EXPECT_NE(Load().store, nullptr);
}

TEST_F(SnapshotTest, InexactFilesLoadOnlyWhenAllowedAndYoungEnough) {
  Store before(Config());
  {
    Store::Writer w(before);
    ASSERT_EQ(before.Put(w, StoreMode::kSet, "k", "v", 0, 0, 0, kNow), Outcome::kStored);
  }
  ASSERT_TRUE(Save(before, Meta(/*clean=*/false)).ok);
  EXPECT_NE(Load().reason.find("online snapshot"), std::string::npos);
  LoadOptions o = Options(kBase + kNow + 60);
  o.restore_unclean_max_age = 30;
  EXPECT_NE(Load(Config(), o).reason.find("60 s old"), std::string::npos);
  o.restore_unclean_max_age = 60;
  LoadResult r = Load(Config(), o);
  ASSERT_NE(r.store, nullptr) << r.reason;
  // CASes after an inexact load also clear those the lost run may have issued meanwhile.
  uint64_t old_cas = Peek(*r.store, "k")->cas;
  Store::Writer w(*r.store);
  uint64_t cas = 0;
  ASSERT_EQ(r.store->Put(w, StoreMode::kSet, "k", "v", 0, 0, 0, kNow, &cas), Outcome::kStored);
  EXPECT_GT(cas, old_cas + (uint64_t{1} << 16 << 16));

  // A clean file once marked consumed is no longer exact.
  ASSERT_TRUE(Save(before).ok);
  const int fd = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
  std::string error;
  ASSERT_TRUE(MarkSnapshotConsumed(fd, &error)) << error;
  ::close(fd);
  EXPECT_NE(Load().reason.find("loaded once already"), std::string::npos);
  o = Options();
  o.restore_unclean_max_age = 10;
  EXPECT_NE(Load(Config(), o).store, nullptr);
}

TEST_F(SnapshotTest, EveryDamagedByteAndEveryTruncationIsRejected) {
  Store before(Config());
  {
    Store::Writer w(before);
    for (int i = 0; i < 40; ++i) {
      ASSERT_EQ(before.Put(w, StoreMode::kSet, "k" + std::to_string(i), "value", i, 0, 0, kNow),
                Outcome::kStored);
    }
    ASSERT_EQ(before.Delete("k3", kNow), Outcome::kDeleted);  // a gap between two runs
    before.Get("k4", kNow, [](const ItemView&) {});           // a state byte
  }
  ASSERT_TRUE(Save(before).ok);
  const std::string good = Bytes();
  ASSERT_NE(LoadBytes(good).store, nullptr);
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_EQ(LoadBytes(good.substr(0, n)).store, nullptr) << "truncated to " << n;
  }
  for (size_t i = 0; i < good.size(); ++i) {
    for (const uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xff}}) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      const LoadResult r = LoadBytes(bad);
      EXPECT_EQ(r.store, nullptr) << "byte " << i << " ^ " << int(mask);
      EXPECT_FALSE(r.reason.empty());
    }
  }
  EXPECT_EQ(LoadBytes(good + "x").store, nullptr);
  EXPECT_EQ(LoadBytes("").reason, "empty file");
}

TEST_F(SnapshotTest, ASmallerBudgetLoadsTheMainQueueFirst) {
  StoreConfig big = Config(size_t{8} << 20);
  Store before(big);
  {
    Store::Writer w(before);
    // Read items go to the main queue when eviction meets them; fill past the budget so it does.
    for (int i = 0; i < 4000; ++i) {
      const std::string key = "k" + std::to_string(i);
      ASSERT_EQ(before.Put(w, StoreMode::kSet, key, std::string(3000, 'x'), 0, 0, 0, kNow),
                Outcome::kStored);
      if (i % 5 == 0) before.Get(key, kNow, [](const ItemView&) {});
    }
  }
  ASSERT_TRUE(Save(before).ok);
  uint64_t main_items = 0;
  for (int i = 0; i < 4000; ++i) {
    const auto v = Peek(before, "k" + std::to_string(i));
    if (v && i % 5 == 0) ++main_items;
  }
  ASSERT_GT(main_items, 0u);
  LoadResult r = Load(Config(size_t{1} << 20));  // 16 segments instead of 128
  ASSERT_NE(r.store, nullptr) << r.reason;
  EXPECT_GT(r.dropped_items, 0u);
  EXPECT_GT(r.dropped_segments, 0u);
  EXPECT_LE(r.store->Stats().segments_in_use * 64 * 1024 + r.store->Stats().index_bytes,
            size_t{1} << 20);
  // What was kept: mostly read (main queue) items.
  uint64_t kept_read = 0;
  uint64_t kept = 0;
  for (int i = 0; i < 4000; ++i) {
    if (Peek(*r.store, "k" + std::to_string(i))) {
      ++kept;
      if (i % 5 == 0) ++kept_read;
    }
  }
  EXPECT_EQ(kept, r.loaded_items);
  EXPECT_GT(kept_read * 2, kept);
  // And the other way: a larger budget loads everything.
  LoadResult all = Load(Config(size_t{32} << 20));
  ASSERT_NE(all.store, nullptr);
  EXPECT_EQ(all.loaded_items, before.Stats().curr_items);
}

// An online snapshot taken while writers run: every loaded value is one a writer wrote whole.
TEST_F(SnapshotTest, OnlineExportWhileWritingLoadsOnlyWholeValues) {
  Store before(Config(size_t{4} << 20));
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < 3; ++t) {
    writers.emplace_back([&, t] {
      Store::Writer w(before);
      std::mt19937 rng(t);
      for (uint64_t n = 0; !stop.load(); ++n) {
        const std::string key = "k" + std::to_string(rng() % 2000);
        // The value repeats one character chosen by its version: a torn copy would mix two.
        const std::string value(100 + rng() % 2000, static_cast<char>('a' + n % 26));
        before.Put(w, StoreMode::kSet, key, value, 0, 0, 0, kNow);
        if (n % 3 == 0) before.Get(key, kNow, [](const ItemView&) {});
        if (n % 7 == 0) before.Delete(key, kNow);
      }
    });
  }
  for (int i = 0; i < 5; ++i) {
    SnapshotMeta m = Meta(false);
    ASSERT_TRUE(Save(before, m).ok);
    LoadOptions o = Options();
    o.restore_unclean_max_age = 10;
    LoadResult r = Load(Config(size_t{4} << 20), o);
    ASSERT_NE(r.store, nullptr) << r.reason;
    for (int k = 0; k < 2000; ++k) {
      if (const auto v = Peek(*r.store, "k" + std::to_string(k))) {
        ASSERT_GE(v->value.size(), 100u);
        ASSERT_EQ(v->value.find_first_not_of(v->value[0]), std::string::npos);
      }
    }
  }
  stop = true;
  for (std::thread& t : writers) t.join();
}

// A segment past 4 MiB (-I 8m and up) has offsets of more than 22 bits: its items are put in
// order by three radix passes, the last copied back.
TEST_F(SnapshotTest, LargeSegmentsKeepEveryItem) {
  StoreConfig c = Config(size_t{64} << 20);
  c.segment_size = size_t{8} << 20;
  c.size_rule.max_total = 1 << 20;
  Store before(c);
  const auto value = [](int i) {
    return std::string(100 + i % 50, static_cast<char>('a' + i % 26));
  };
  {
    Store::Writer w(before);
    for (int i = 0; i < 50000; ++i) {
      ASSERT_EQ(before.Put(w, StoreMode::kSet, "k" + std::to_string(i), value(i), 0, 0, 0, kNow),
                Outcome::kStored);
    }
    for (int i = 0; i < 50000; i += 7) {
      ASSERT_EQ(before.Delete("k" + std::to_string(i), kNow), Outcome::kDeleted);
    }
  }
  ASSERT_TRUE(Save(before).ok);
  LoadResult r = Load(c);
  ASSERT_NE(r.store, nullptr) << r.reason;
  EXPECT_EQ(r.loaded_items, before.Stats().curr_items);
  for (int i = 0; i < 50000; ++i) {
    const auto got = Peek(*r.store, "k" + std::to_string(i));
    if (i % 7 == 0) {
      ASSERT_FALSE(got) << i;
    } else {
      ASSERT_TRUE(got) << i;
      ASSERT_EQ(got->value, value(i)) << i;
    }
  }
}

// An mp I T rule not yet applied to an item: the file holds it as a read would leave it, stale
// and with the rule's TTL where the item has an exptime field (one stored without has no room
// for it: stale, never expiring, as in the store until the sweep rewrites it).
TEST_F(SnapshotTest, ItemsUnderAStaleRuleAreSavedStaleWithItsTtl) {
  for (const ExportMode mode : {ExportMode::kServing, ExportMode::kStopped}) {
    Store before(Config());
    {
      Store::Writer w(before);
      ASSERT_EQ(before.Put(w, StoreMode::kSet, "p:ttl", "1", 0, kNow + 1000, 0, kNow),
                Outcome::kStored);
      ASSERT_EQ(before.Put(w, StoreMode::kSet, "p:none", "2", 0, 0, 0, kNow), Outcome::kStored);
      ASSERT_EQ(before.Put(w, StoreMode::kSet, "q:other", "3", 0, kNow + 1000, 0, kNow),
                Outcome::kStored);
    }
    ASSERT_NE(before.FlushPrefix("p:", /*stale=*/true, kNow + 30), 0u);
    ASSERT_TRUE(SaveSnapshot(before, Meta(), kNow, path_, nullptr, mode).ok);
    LoadResult r = Load();
    ASSERT_NE(r.store, nullptr) << r.reason;
    const auto ttl = Peek(*r.store, "p:ttl");
    const auto none = Peek(*r.store, "p:none");
    const auto other = Peek(*r.store, "q:other");
    ASSERT_TRUE(ttl && none && other);
    EXPECT_TRUE(ttl->stale);
    EXPECT_EQ(ttl->exptime, kNow + 30);
    EXPECT_TRUE(none->stale);
    EXPECT_EQ(none->exptime, 0u);
    EXPECT_FALSE(other->stale);
    EXPECT_EQ(other->exptime, kNow + 1000);
  }
}

// The save at a stop writes items from where they lie (here in more pieces than one writev
// takes: every other item is deleted) and gives their memory back as it goes; the file must be
// the very one a save while serving writes.
TEST_F(SnapshotTest, EveryExportModeWritesTheSameFile) {
  Store store(Config());
  {
    Store::Writer w(store);
    for (int i = 0; i < 20000; ++i) {
      ASSERT_EQ(store.Put(w, StoreMode::kSet, "k" + std::to_string(i), "v", 0, 0, 0, kNow),
                Outcome::kStored);
    }
    for (int i = 0; i < 20000; i += 2) {
      ASSERT_EQ(store.Delete("k" + std::to_string(i), kNow), Outcome::kDeleted);
    }
  }
  ASSERT_TRUE(SaveSnapshot(store, Meta(), kNow, path_).ok);
  const std::string serving = Bytes();
  ASSERT_TRUE(SaveSnapshot(store, Meta(), kNow, path_, nullptr, ExportMode::kStopped).ok);
  EXPECT_EQ(Bytes(), serving);
  ASSERT_TRUE(SaveSnapshot(store, Meta(), kNow, path_, nullptr, ExportMode::kFinal).ok);
  EXPECT_EQ(Bytes(), serving);
  LoadResult r = Load();
  ASSERT_NE(r.store, nullptr) << r.reason;
  EXPECT_EQ(r.loaded_items, 10000u);
  EXPECT_EQ(Peek(*r.store, "k19999")->value, "v");
  EXPECT_FALSE(Peek(*r.store, "k19998"));
}

TEST_F(SnapshotTest, AFailedSaveLeavesTheOldFile) {
  Store before(Config());
  {
    Store::Writer w(before);
    ASSERT_EQ(before.Put(w, StoreMode::kSet, "k", "v", 0, 0, 0, kNow), Outcome::kStored);
  }
  ASSERT_TRUE(Save(before).ok);
  const std::string good = Bytes();
  std::atomic<bool> cancel{true};
  const SaveResult r = SaveSnapshot(before, Meta(), kNow, path_, &cancel);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(Bytes(), good);
  EXPECT_FALSE(std::filesystem::exists(path_ + ".tmp"));
  const SaveResult nowhere = SaveSnapshot(before, Meta(), kNow, (dir_ / "no/such").string());
  EXPECT_FALSE(nowhere.ok);
  EXPECT_NE(nowhere.error.find("open"), std::string::npos);
}

}  // namespace
}  // namespace cachet::storage

namespace cachet::storage {
namespace {

// Writes the fuzz target's seed corpus (tests/fuzz/corpus/snapshot): run by hand with
//   CACHET_SEED_DIR=tests/fuzz/corpus/snapshot build/tests/storage_tests
//     --gtest_also_run_disabled_tests --gtest_filter=SnapshotSeeds.*
// The store configuration must stay the fuzz target's (tests/fuzz/snapshot_fuzz.cc).
TEST(SnapshotSeeds, DISABLED_Write) {
  const char* dir = std::getenv("CACHET_SEED_DIR");
  ASSERT_NE(dir, nullptr);
  StoreConfig c;
  c.memory_limit = size_t{2} << 20;
  c.segment_size = 64 * 1024;
  c.min_segments = 4;
  c.shard_bits = 4;
  c.size_rule.max_total = 32 * 1024;
  const uint32_t now = 1000;
  SnapshotMeta meta;
  meta.save_time = 1'799'999'000;
  meta.time_base = meta.save_time - now;
  meta.item_size_max = 32 * 1024;
  const auto write = [&](Store& store, bool clean, const std::string& name) {
    meta.clean = clean;
    const std::string tmp = std::string(dir) + "/.seed";
    ASSERT_TRUE(SaveSnapshot(store, meta, now, tmp).ok);
    std::ifstream f(tmp, std::ios::binary);
    const std::string file((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::filesystem::remove(tmp);
    // What the fuzz target does with it: it loads.
    MemorySource src(reinterpret_cast<const uint8_t*>(file.data()), file.size());
    LoadOptions o;
    o.unix_now = 1'800'000'000;
    o.item_size_max = 32 * 1024;
    o.restore_unclean_max_age = int64_t{1} << 40;
    ASSERT_NE(LoadSnapshot(src, c, o).store, nullptr) << name;
    for (const char mode : {'\0', '\1', '\2'}) {
      std::ofstream out(std::string(dir) + "/" + name + "-mode" + std::to_string(int(mode)),
                        std::ios::binary);
      out << mode << file;
    }
  };
  Store empty(c);
  write(empty, true, "empty");
  Store small(c);
  {
    Store::Writer w(small);
    ASSERT_EQ(small.Put(w, StoreMode::kSet, "plain", "value", 0, 0, 0, now), Outcome::kStored);
    ASSERT_EQ(small.Put(w, StoreMode::kSet, "flags", "v", 0xdeadbeef, 0, 0, now), Outcome::kStored);
    ASSERT_EQ(small.Put(w, StoreMode::kSet, "ttl", "v", 0, now + 100, 0, now), Outcome::kStored);
    ASSERT_EQ(small.Put(w, StoreMode::kSet, "gone", "deleted: a gap", 0, 0, 0, now),
              Outcome::kStored);
    ASSERT_EQ(small.Delete("gone", now), Outcome::kDeleted);
    ASSERT_EQ(small.Put(w, StoreMode::kSet, "touched", "v", 0, 0, 0, now), Outcome::kStored);
    ASSERT_EQ(small.Touch(w, "touched", now + 50, now), Outcome::kTouched);  // a stored CAS
    ASSERT_EQ(small.Put(w, StoreMode::kSet, "read", "v", 0, 0, 0, now), Outcome::kStored);
    small.Get("read", now, [](const ItemView&) {});
    ASSERT_EQ(small.Put(w, StoreMode::kSet, "stale", "v", 0, 0, 0, now), Outcome::kStored);
    ASSERT_EQ(small.Invalidate(w, "stale", 0, false, 0, now), Outcome::kStored);
    ASSERT_EQ(small.Put(w, StoreMode::kSet, "empty", "", 0, 0, 0, now), Outcome::kStored);
    ASSERT_EQ(small.Put(w, StoreMode::kSet, "twice", "old", 0, 0, 0, now), Outcome::kStored);
    ASSERT_EQ(small.Put(w, StoreMode::kSet, "twice", "new", 0, 0, 0, now), Outcome::kStored);
  }
  write(small, true, "small");
  write(small, false, "online");
}

}  // namespace
}  // namespace cachet::storage
