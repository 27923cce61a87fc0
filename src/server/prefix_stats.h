#pragma once
// `stats detail`: per key-prefix counters of gets, hits, sets and deletes, recorded only while
// switched on (`stats detail on` or -D). The prefix is what precedes the delimiter (-D, ':' by
// default). Like memcached, a single mutex guards the table; it costs nothing while off.
// The table is bounded: past kMaxPrefixes, new prefixes are not recorded.
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/mutex.h"

namespace cachet::server {

class PrefixStats {
 public:
  static constexpr size_t kMaxPrefixes = 65536;

  PrefixStats(char delimiter, bool enabled) : delimiter_(delimiter), enabled_(enabled) {}

  bool enabled() const { return enabled_.load(std::memory_order_relaxed); }
  void set_enabled(bool on) { enabled_.store(on, std::memory_order_relaxed); }

  // Inline checks keep the cost of a switched-off table to one relaxed load.
  void RecordGet(std::string_view key, bool hit) {
    if (enabled()) Record(key, 1, hit ? 1 : 0, 0, 0);
  }
  void RecordSet(std::string_view key) {
    if (enabled()) Record(key, 0, 0, 1, 0);
  }
  void RecordDelete(std::string_view key) {
    if (enabled()) Record(key, 0, 0, 0, 1);
  }
  // memcached's dump: one "PREFIX <p> get <n> hit <n> set <n> del <n>\r\n" line per prefix,
  // then "END\r\n".
  std::string Dump() const;
  void Clear();

 private:
  struct Counters {
    uint64_t gets = 0, hits = 0, sets = 0, deletes = 0;
  };
  void Record(std::string_view key, int gets, int hits, int sets, int deletes);

  const char delimiter_;
  std::atomic<bool> enabled_;
  mutable common::Mutex mu_;
  std::unordered_map<std::string, Counters> by_prefix_ CACHET_GUARDED_BY(mu_);
};

}  // namespace cachet::server
