#pragma once
// `watch`: streams log lines about fetches, stores, evictions and connections to the clients
// that asked, in memcached's line format ("ts=<sec>.<usec> gid=<n> type=... \n").
//
// A watching client's transport is handed over to this log: a thread of its own writes the lines
// (non-blocking; a watcher that does not read loses lines past its buffer, counted in
// log_watcher_skipped) and closes the socket when the client goes away. Emitting costs one
// relaxed load while nobody watches.
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
  WatchLog(server::ConnectionRegistry& registry, std::atomic<int64_t>& current_connections,
           size_t buffer_limit);
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
  void Run();
  void Wake();
  void RemoveLocked(size_t i) CACHET_REQUIRES(mu_);
  void RecomputeKindsLocked() CACHET_REQUIRES(mu_);

  server::ConnectionRegistry& registry_;
  std::atomic<int64_t>& current_connections_;
  const size_t buffer_limit_;
  std::atomic<uint64_t> gid_{0};
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
