#pragma once
// Per-thread counters: each worker writes only its own (relaxed, no contention), and `stats`
// sums all of them when asked. A reset records a baseline instead of writing other threads' data.
#include <atomic>
#include <cstdint>

#include "common/outcome.h"

namespace cachet::server {

class Counter {
 public:
  // Single writer: a plain load+store is enough and avoids a locked instruction.
  void Add(uint64_t n = 1) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  // For a level (a gauge): the sum over threads is right modulo 2^64 whatever each one holds.
  void Sub(uint64_t n) { Add(~n + 1); }
  uint64_t Get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

#define CACHET_THREAD_COUNTERS(X) \
  X(idle_kicks)                   \
  X(cmd_get)                      \
  X(cmd_set)                      \
  X(cmd_flush)                    \
  X(cmd_flush_prefix)             \
  X(cmd_touch)                    \
  X(cmd_meta)                     \
  X(get_hits)                     \
  X(get_misses)                   \
  X(get_expired)                  \
  X(delete_misses)                \
  X(delete_hits)                  \
  X(incr_misses)                  \
  X(incr_hits)                    \
  X(decr_misses)                  \
  X(decr_hits)                    \
  X(cas_misses)                   \
  X(cas_hits)                     \
  X(cas_badval)                   \
  X(touch_hits)                   \
  X(touch_misses)                 \
  X(store_too_large)              \
  X(store_no_memory)              \
  X(bytes_read)                   \
  X(bytes_written)                \
  X(conn_yields)                  \
  X(read_buf_oom)                 \
  X(auth_cmds)                    \
  X(auth_errors)                  \
  X(ssl_handshake_errors)         \
  X(ssl_new_sessions)

struct ThreadStats {
#define CACHET_DECLARE(name) Counter name;
  CACHET_THREAD_COUNTERS(CACHET_DECLARE)
#undef CACHET_DECLARE
};

// cas_hits / cas_badval / cas_misses for the outcome of a compare-and-swap, in every protocol.
inline void CountCas(ThreadStats& stats, common::Outcome o) {
  if (o == common::Outcome::kStored) stats.cas_hits.Add();
  if (o == common::Outcome::kExists) stats.cas_badval.Add();
  if (o == common::Outcome::kNotFound) stats.cas_misses.Add();
}

// Levels a worker keeps up to date (`stats reset` leaves them): its connections' input buffers,
// their capacity, and the capacity of those that hold nothing.
struct ThreadGauges {
  Counter read_buf_count;
  Counter read_buf_bytes;
  Counter read_buf_bytes_free;
};

// A plain-value sum of ThreadStats.
struct StatsTotals {
#define CACHET_DECLARE(name) uint64_t name = 0;
  CACHET_THREAD_COUNTERS(CACHET_DECLARE)
#undef CACHET_DECLARE

  void Add(const ThreadStats& t) {
#define CACHET_ADD(name) name += t.name.Get();
    CACHET_THREAD_COUNTERS(CACHET_ADD)
#undef CACHET_ADD
  }
  void Subtract(const StatsTotals& base) {
#define CACHET_SUB(name) name -= base.name;
    CACHET_THREAD_COUNTERS(CACHET_SUB)
#undef CACHET_SUB
  }
};

}  // namespace cachet::server
