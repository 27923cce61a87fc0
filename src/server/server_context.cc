#include "server/server_context.h"

#include <algorithm>

namespace cachet::server {

namespace {
storage::StoreConfig StoreConfigFor(const Settings& s) {
  storage::StoreConfig c;
  c.memory_limit = s.memory_limit;
  // A segment holds the largest item; memcached's per-item overhead exceeds ours, so an item
  // that passes its size check always fits.
  c.segment_size = std::max<size_t>(size_t{1} << 20, s.item_size_max);
  // Each writing thread holds one open segment; eviction needs sealed ones to take from.
  c.min_segments = static_cast<size_t>(s.threads) + 4;
  c.evict = s.evict_to_free;
  // memcached's item_size_ok(): a 48-byte item header, the key's NUL, the data's CRLF and an
  // 8-byte CAS, plus 4 bytes for non-zero flags, must fit -I.
  c.size_rule = {s.item_size_max, 48 + 1 + 2 + 8, 4};
  return c;
}
}  // namespace

ServerContext::ServerContext(const Settings& settings, const common::Clock& clock)
    : settings_(settings),
      debug_clock_(clock),
      time_(debug_clock_),
      store_(std::make_unique<storage::Store>(StoreConfigFor(settings))),
      verbosity_(settings.verbose) {}

WorkerContext& ServerContext::AddWorker() {
  workers_.push_back(std::make_unique<WorkerContext>(*store_));
  return *workers_.back();
}

void ServerContext::FlushAll(int64_t delay) {
  if (delay <= 0) {
    Flush(0);
    return;
  }
  // memcached invalidates items last written at or before realtime(delay) - 1, from that second
  // on; realtime() of a past time is 1, so that flushes nothing (and replaces a pending flush).
  const uint32_t at = time_.ToServerTime(delay) - 1;
  if (at == 0) {
    flush_at_.store(0, std::memory_order_relaxed);
  } else {
    Flush(at <= time_.Now() ? 0 : at);
  }
}

void ServerContext::Flush(uint32_t at) {
  if (at == 0) {
    flush_at_.store(0, std::memory_order_relaxed);
    store_->Flush();
  } else {
    flush_at_.store(at, std::memory_order_relaxed);
  }
}

StatsTotals ServerContext::ThreadTotals() const {
  StatsTotals t;
  for (const auto& w : workers_) t.Add(w->stats);
  std::lock_guard lock(reset_mu_);
  t.Subtract(thread_base_);
  return t;
}

storage::StoreStats ServerContext::StoreTotals() const {
  storage::StoreStats s = store_->Stats();
  std::lock_guard lock(reset_mu_);
  s.total_items -= store_base_.total_items;
  s.evictions -= store_base_.evictions;
  s.evicted_unfetched -= store_base_.evicted_unfetched;
  s.reclaimed -= store_base_.reclaimed;
  s.expired_unfetched -= store_base_.expired_unfetched;
  return s;
}

uint64_t ServerContext::TotalConnections() const {
  std::lock_guard lock(reset_mu_);
  return connections_.total.load(std::memory_order_relaxed) - total_conn_base_;
}

uint64_t ServerContext::RejectedConnections() const {
  std::lock_guard lock(reset_mu_);
  return connections_.rejected.load(std::memory_order_relaxed) - rejected_base_;
}

void ServerContext::ResetStats() {
  StatsTotals t;
  for (const auto& w : workers_) t.Add(w->stats);
  const storage::StoreStats s = store_->Stats();
  std::lock_guard lock(reset_mu_);
  thread_base_ = t;
  store_base_ = s;
  total_conn_base_ = connections_.total.load(std::memory_order_relaxed);
  rejected_base_ = connections_.rejected.load(std::memory_order_relaxed);
}

}  // namespace cachet::server
