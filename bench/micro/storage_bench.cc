// Store and index micro benchmarks on a warm 64 MiB store holding 100k items of 10 B keys and
// 100 B values (the CPU workloads' sizes): Get hit and miss, Put overwrite, and the bare index
// lookup. Single-threaded: they measure the code path, not lock contention.
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "storage/hash_index.h"
#include "storage/store.h"

namespace cachet::storage {
namespace {

constexpr int kItems = 100000;
constexpr uint32_t kNow = 100;

std::string Key(int i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%010d", i);
  return buf;
}

struct Filled {
  Filled() : store(Config()), writer(store), value(100, 'v') {
    for (int i = 0; i < kItems; ++i) keys.push_back(Key(i));
    for (const std::string& k : keys) {
      store.Put(writer, StoreMode::kSet, k, value, 0, 0, 0, kNow);
    }
  }
  static StoreConfig Config() {
    StoreConfig c;
    c.memory_limit = size_t{64} << 20;
    return c;
  }
  Store store;
  Store::Writer writer;
  std::string value;
  std::vector<std::string> keys;
};

Filled& Shared() {
  static Filled* f = new Filled();  // built once, for all store benchmarks
  return *f;
}

void BM_StoreGetHit(benchmark::State& state) {
  Filled& f = Shared();
  char out[128];
  size_t i = 0;
  for (auto _ : state) {
    const ReadStatus s = f.store.Get(f.keys[i], kNow, [&](const ItemView& v) {
      std::memcpy(out, v.value.data(), v.value.size());  // as a reply copies it
    });
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(out);
    i = i + 7919 < kItems ? i + 7919 : i + 7919 - kItems;  // stride: not a cache-warm loop
  }
}
BENCHMARK(BM_StoreGetHit);

void BM_StoreGetMiss(benchmark::State& state) {
  Filled& f = Shared();
  std::vector<std::string> absent;
  for (int i = 0; i < 1024; ++i) absent.push_back(Key(kItems + i));
  size_t i = 0;
  for (auto _ : state) {
    const ReadStatus s = f.store.Get(absent[i++ & 1023], kNow, [](const ItemView&) {});
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_StoreGetMiss);

void BM_StorePutOverwrite(benchmark::State& state) {
  Filled& f = Shared();
  size_t i = 0;
  for (auto _ : state) {
    const common::Outcome o =
        f.store.Put(f.writer, StoreMode::kSet, f.keys[i], f.value, 0, 0, 0, kNow);
    benchmark::DoNotOptimize(o);
    i = i + 7919 < kItems ? i + 7919 : i + 7919 - kItems;
  }
}
BENCHMARK(BM_StorePutOverwrite);

void BM_IndexFind(benchmark::State& state) {
  constexpr int kLocBits = 26;
  HashIndex index(kLocBits);
  std::vector<uint64_t> hashes;
  uint64_t x = 0x9e3779b97f4a7c15ULL;
  for (int i = 0; i < kItems; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;  // xorshift: well-spread hash bits
    hashes.push_back(x);
    index.Insert(x, static_cast<uint64_t>(i) + 1);
  }
  size_t i = 0;
  for (auto _ : state) {
    const uint64_t want = static_cast<uint64_t>(i) + 1;
    const size_t slot = index.Find(hashes[i], [&](uint64_t loc) { return loc == want; });
    benchmark::DoNotOptimize(slot);
    i = i + 7919 < kItems ? i + 7919 : i + 7919 - kItems;
  }
}
BENCHMARK(BM_IndexFind);

}  // namespace
}  // namespace cachet::storage
