#pragma once
// `watch`: streams log lines about fetches, stores, evictions and connections to the clients
// that asked, in memcached's line format ("ts=<sec>.<usec> gid=<n> type=... \n").
//
// A watching client's transport is handed over to this log: a thread of its own writes the lines
// (non-blocking; a watcher that does not read loses lines past its buffer, counted in
// log_watcher_skipped) and closes the socket when the client goes away. Emitting costs one
// relaxed load while nobody watches; otherwise the emitting thread appends one record to a
// buffer of its own stripe (worker_logbuf_size) and wakes the log thread at most once per
// drain, whatever the watchers do: formatting, the gid and copying to each watcher happen on
// the log thread, which drains the stripes every millisecond while lines keep coming.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "net/transport.h"
#include "server/connection_registry.h"
#include "server/watch_sink.h"

namespace cachet::net {

class WatchLog final : public server::WatchSink {
 public:
  // `buffer_limit`: each watcher's (watcher_logbuf_size); `stripe_limit`: each stripe's
  // (worker_logbuf_size). 0 takes memcached's defaults.
  WatchLog(server::ConnectionRegistry& registry, std::atomic<int64_t>& current_connections,
           size_t buffer_limit, size_t stripe_limit = 0);
  ~WatchLog();
  WatchLog(const WatchLog&) = delete;
  WatchLog& operator=(const WatchLog&) = delete;

  void Emit(uint32_t kind, std::string_view body) override;

  // Takes over a client's transport (and its `stats conns` entry) that asked for `kinds`;
  // `pending` is output the client has not received yet (its "OK").
  void AddWatcher(std::unique_ptr<Transport> transport, uint32_t kinds, server::ConnInfo* info,
                  std::string pending);

  uint64_t watchers() const override { return watcher_count_.load(std::memory_order_relaxed); }
  uint64_t sent() const override { return sent_.load(std::memory_order_relaxed); }
  uint64_t skipped() const override { return skipped_.load(std::memory_order_relaxed); }

 private:
  struct Watcher {
    std::unique_ptr<Transport> transport;  // plain or TLS: lines are written through it
    uint32_t kinds;
    server::ConnInfo* info;
    std::string pending;
    uint64_t skipped = 0;  // lines lost since the last one delivered
  };
  // Lines waiting for the log thread: records of (kind, seconds, microseconds, length, body).
  struct alignas(64) Stripe {
    common::Mutex mu;
    std::string records CACHET_GUARDED_BY(mu);
    uint64_t dropped CACHET_GUARDED_BY(mu) = 0;  // lines lost: the stripe was full
  };
  static constexpr size_t kStripes = 16;
  void Run();
  void Wake();
  // Moves every stripe's records to the watchers; true if there were any.
  bool DrainLocked() CACHET_REQUIRES(mu_);
  void Deliver(uint32_t kind, std::string_view line, uint64_t* sent, uint64_t* skipped)
      CACHET_REQUIRES(mu_);
  // Whether a watcher of `kind` has room for a line this long; if none has, counts it skipped.
  bool AnyRoomLocked(uint32_t kind, size_t line_size, uint64_t* skipped) CACHET_REQUIRES(mu_);
  void RemoveLocked(size_t i) CACHET_REQUIRES(mu_);
  void RecomputeKindsLocked() CACHET_REQUIRES(mu_);

  server::ConnectionRegistry& registry_;
  std::atomic<int64_t>& current_connections_;
  const size_t buffer_limit_;
  const size_t stripe_limit_;
  Stripe stripes_[kStripes];
  std::string drained_ CACHET_GUARDED_BY(mu_);  // what the log thread took from a stripe
  std::string line_ CACHET_GUARDED_BY(mu_);     // one formatted line
  uint64_t gid_ CACHET_GUARDED_BY(mu_) = 0;
  // Set by the first Emit after a drain (which then wakes the log thread); the log thread keeps
  // it set while lines keep coming, and polls the stripes every millisecond instead.
  std::atomic<bool> wake_pending_{false};
  std::atomic<uint64_t> watcher_count_{0};
  std::atomic<uint64_t> sent_{0};
  std::atomic<uint64_t> skipped_{0};
  int wake_fd_ = -1;
  std::atomic<bool> stopping_{false};
  common::Mutex mu_;
  std::vector<Watcher> watchers_ CACHET_GUARDED_BY(mu_);
  std::thread thread_;  // started with the first watcher
};

}  // namespace cachet::net
