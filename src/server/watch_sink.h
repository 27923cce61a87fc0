#pragma once
// Where `watch` lines go. The server emits them (sessions, evictions, connections); net/ provides
// the sink that writes them to watching clients' sockets (net/watch_log.h). Without one (unit
// tests, fuzzing) nobody watches. Wants() is one relaxed load: the cost while nobody watches.
#include <atomic>
#include <cstdint>
#include <string_view>

#include "protocol/operator_request.h"

namespace cachet::server {

// The kinds are protocol::WatchKind bits (protocol/operator_request.h).
class WatchSink {
 public:
  virtual ~WatchSink() = default;
  bool Wants(uint32_t kind) const { return (kinds_.load(std::memory_order_relaxed) & kind) != 0; }
  // `body` is the part after "ts=... gid=... " (without the newline).
  virtual void Emit(uint32_t kind, std::string_view body) = 0;
  // For `stats`: log_watchers, log_watcher_sent, log_watcher_skipped.
  virtual uint64_t watchers() const = 0;
  virtual uint64_t sent() const = 0;
  virtual uint64_t skipped() const = 0;

 protected:
  // The kinds some watcher asked for (the union over all of them).
  void set_kinds(uint32_t kinds) { kinds_.store(kinds, std::memory_order_relaxed); }

 private:
  std::atomic<uint32_t> kinds_{0};
};

// The sink when nobody can watch.
class NoWatchSink final : public WatchSink {
 public:
  void Emit(uint32_t, std::string_view) override {}
  uint64_t watchers() const override { return 0; }
  uint64_t sent() const override { return 0; }
  uint64_t skipped() const override { return 0; }
};

}  // namespace cachet::server
