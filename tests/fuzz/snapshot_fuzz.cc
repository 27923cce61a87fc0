// libFuzzer target for the snapshot loader (storage/snapshot_file.h): any bytes, as a file given
// to -e, must be rejected or loaded into a consistent store, never crash or hang it. The first
// byte picks how: bit 0 skips the checksums (so mutations reach the decoders behind them),
// bit 1 rebuilds the index with two threads. The rest is the file; the seeds in
// corpus/snapshot/ are written by SnapshotSeeds.DISABLED_Write (tests/unit/storage) with the
// same store configuration as below.
//
// Invariants of a loaded store: its counts match what the loader reported, every listed item
// has a valid key and reads back with the listed value length, and it accepts new writes whose
// CAS is above every loaded one.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "storage/snapshot_file.h"
#include "storage/store.h"

namespace {

using namespace cachet::storage;

void Check(bool ok) {
  if (!ok) std::abort();
}

StoreConfig FuzzConfig() {
  StoreConfig c;
  c.memory_limit = size_t{2} << 20;
  c.segment_size = 64 * 1024;
  c.min_segments = 4;
  c.shard_bits = 4;
  c.size_rule.max_total = 32 * 1024;
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  MemorySource source(data + 1, size - 1);
  LoadOptions options;
  options.unix_now = 1'800'000'000;
  options.item_size_max = 32 * 1024;
  options.restore_unclean_max_age = int64_t{1} << 40;  // every kind of file may load
  options.verify_checksums = (mode & 1) == 0;
  options.index_threads = (mode & 2) != 0 ? 2 : 1;
  LoadResult r = LoadSnapshot(source, FuzzConfig(), options);
  if (r.store == nullptr) {
    Check(!r.reason.empty());
    return 0;
  }
  Store& store = *r.store;
  const StoreStats stats = store.Stats();
  Check(stats.curr_items == r.loaded_items);
  Check(stats.segments_in_use * FuzzConfig().segment_size + stats.index_bytes <=
            FuzzConfig().memory_limit ||
        stats.segments_in_use <= FuzzConfig().min_segments);
  const uint32_t now = static_cast<uint32_t>(options.unix_now - r.meta.time_base);
  std::vector<std::pair<std::string, uint32_t>> listed;
  uint64_t max_cas = 0;
  for (size_t shard = 0; shard < store.shard_count(); ++shard) {
    for (size_t from = 0; from != Store::kListDone;) {
      from = store.ListShard(shard, from, 64, now, [&](const ListedItem& item) {
        Check(!item.key.empty() && item.key.size() <= kMaxKeyLength);
        listed.emplace_back(std::string(item.key), item.value_len);
        if (item.cas > max_cas) max_cas = item.cas;
      });
    }
  }
  Check(listed.size() <= r.loaded_items);
  for (const auto& [key, len] : listed) {
    uint32_t got = ~0u;
    Check(store.Peek(key, now, [&](const ItemView& v) {
      got = static_cast<uint32_t>(v.value.size());
    }) == ReadStatus::kHit);
    Check(got == len);
  }
  Store::Writer w(store);
  uint64_t cas = 0;
  const cachet::common::Outcome o =
      store.Put(w, StoreMode::kSet, "fuzz-new-key", "v", 0, 0, 0, now, &cas);
  Check(o == cachet::common::Outcome::kStored || o == cachet::common::Outcome::kNoMemory);
  if (o == cachet::common::Outcome::kStored) Check(cas > max_cas);
  std::string value;
  Check(store.Get("fuzz-new-key", now, [&](const ItemView& v) { value = v.value; }) ==
            ReadStatus::kHit ||
        o != cachet::common::Outcome::kStored);
  return 0;
}
