#include "server/server_context.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "protocol/uri_encode.h"
#include "storage/snapshot_file.h"

namespace cachet::server {

storage::StoreConfig StoreConfigFor(const Settings& s) {
  storage::StoreConfig c;
  c.memory_limit = s.memory_limit;
  // A segment holds the largest item; memcached's per-item overhead exceeds ours, so an item
  // that passes its size check always fits.
  c.segment_size = s.segment_size();
  c.min_segments = s.min_segments();
  c.evict = s.evict_to_free;
  c.max_prefix_rules = s.flush_prefix_max_rules;
  // memcached's item_size_ok(): a 48-byte item header, the key's NUL, the data's CRLF and an
  // 8-byte CAS, plus 4 bytes for non-zero flags, must fit -I.
  c.size_rule = {s.item_size_max, 48 + 1 + 2 + 8, 4};
  // memcached's smallest chunk is its 48-byte item header plus -n.
  c.classes = storage::SizeClasses(48 + static_cast<size_t>(s.chunk_size), s.growth_factor,
                                   s.effective_slab_chunk_max());
  return c;
}

ServerContext::ServerContext(const Settings& settings, const common::Clock& clock)
    : settings_(settings),
      debug_clock_(clock),
      time_(debug_clock_),
      store_(std::make_unique<storage::Store>(StoreConfigFor(settings))),
      buffer_budget_(settings.BufferBudgetBytes(), settings.read_buf_mem_limit != 0),
      verbosity_(settings.verbose),
      eviction_watcher_(*this),
      prefix_stats_(settings.prefix_delimiter, settings.detail_enabled),
      sizes_enabled_(settings.track_sizes) {
  crawler_.enabled.store(settings.lru_crawler);
  crawler_.sleep_us.store(static_cast<uint32_t>(settings.lru_crawler_sleep));
  crawler_.tocrawl.store(settings.lru_crawler_tocrawl);
  slabs_.automove.store(settings.slab_automove);
  slabs_.automove_ratio.store(settings.slab_automove_ratio);
  store_->set_eviction_observer(&eviction_watcher_);
  if (!settings.memory_file.empty()) {
    memory_file_ = std::make_unique<MemoryFile>(*this, settings.memory_file);
  }
}

void ServerContext::StartCrawler() {
  // memcached's autocrawl belongs to its LRU maintainer thread.
  if (!lru_crawler_) lru_crawler_ = std::make_unique<LruCrawler>(*this, settings_.lru_maintainer);
}

bool ServerContext::RequestCrawl(bool all, const protocol::SlabClassSet& classes) {
  return !lru_crawler_ || lru_crawler_->Request(all, classes);
}

uint64_t ServerContext::FlushPrefix(std::string_view prefix, bool stale,
                                    std::optional<uint32_t> stale_exptime) {
  prefix_used_.store(true, std::memory_order_relaxed);
  const uint64_t rule = store_->FlushPrefix(prefix, stale, stale_exptime);
  if (rule != 0 && lru_crawler_) lru_crawler_->RequestSweep();
  return rule;
}

bool ServerContext::crawler_running() const { return lru_crawler_ && lru_crawler_->running(); }

uint64_t ServerContext::crawler_starts() const { return lru_crawler_ ? lru_crawler_->starts() : 0; }

void ServerContext::RestoreFrom(std::unique_ptr<storage::Store> store,
                                const storage::SnapshotMeta& meta) {
  store_ = std::move(store);
  store_->set_eviction_observer(&eviction_watcher_);
  time_.Rebase(meta.time_base);
  if (settings_.debugtime) debug_clock_.Advance(meta.debug_offset - debug_clock_.offset());
  flush_at_.store(meta.flush_at, std::memory_order_relaxed);
  oldest_live_.store(meta.oldest_live, std::memory_order_relaxed);
}

storage::SnapshotMeta ServerContext::SnapshotMetaNow(bool clean) const {
  storage::SnapshotMeta m;
  m.clean = clean;
  m.save_time = time_.UnixNow();
  m.time_base = time_.started();
  m.debug_offset = debug_clock_.offset();
  m.flush_at = flush_at_.load(std::memory_order_relaxed);
  m.oldest_live = oldest_live_.load(std::memory_order_relaxed);
  m.memory_limit = store_->memory_limit();
  m.item_size_max = settings_.item_size_max;
  m.cas_enabled = settings_.cas_enabled;
  return m;
}

bool ServerContext::EvictionWatcher::Wants() const {
  return server_.watch().Wants(protocol::kWatchEvictions);
}

void ServerContext::EvictionWatcher::OnEvict(const storage::EvictedItem& item, uint32_t now) {
  std::string line = "type=eviction key=";
  protocol::AppendUriEncoded(line, item.key);
  char tail[128];
  const long long ttl = item.exptime == 0 ? -1 : static_cast<long long>(item.exptime) - now;
  const int n = std::snprintf(
      tail, sizeof(tail), " fetch=%s ttl=%lld la=%u clsid=%d size=%u", item.fetched ? "yes" : "no",
      ttl, now > item.written_at ? now - item.written_at : 0, item.size_class, item.value_len);
  line.append(tail, static_cast<size_t>(n));
  server_.watch().Emit(protocol::kWatchEvictions, line);
}

WorkerContext& ServerContext::AddWorker() {
  workers_.push_back(std::make_unique<WorkerContext>(*store_));
  return *workers_.back();
}

void ServerContext::RequestShutdown(bool graceful) {
  // Process-directed, so the main thread's signalfd takes it like one from outside.
  ::kill(::getpid(), graceful ? SIGUSR1 : SIGINT);
}

bool ServerContext::RefreshCerts(std::string* error) {
  if (certs_ == nullptr) {
    *error = "Error TLS not enabled";
    return false;
  }
  if (!certs_->Reload(error)) return false;
  cert_refresh_.store(time_.Now(), std::memory_order_relaxed);
  return true;
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
  // `stats settings` oldest: memcached's oldest_live, the server second before the flush time.
  const uint32_t effective = at == 0 ? time_.Now() : at;
  oldest_live_.store(effective > 1 ? effective - 1 : 1, std::memory_order_relaxed);
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
  common::MutexLock lock(reset_mu_);
  t.Subtract(thread_base_);
  return t;
}

ServerContext::BufferLevels ServerContext::BufferTotals() const {
  BufferLevels b;
  for (const auto& w : workers_) {
    b.count += w->gauges.read_buf_count.Get();
    b.bytes += w->gauges.read_buf_bytes.Get();
    b.bytes_free += w->gauges.read_buf_bytes_free.Get();
  }
  return b;
}

storage::StoreStats ServerContext::StoreTotals() const {
  storage::StoreStats s = store_->Stats();
  common::MutexLock lock(reset_mu_);
  s.total_items -= store_base_.total_items;
  s.evictions -= store_base_.evictions;
  s.evicted_unfetched -= store_base_.evicted_unfetched;
  s.reclaimed -= store_base_.reclaimed;
  s.expired_unfetched -= store_base_.expired_unfetched;
  s.get_flushed -= store_base_.get_flushed;
  s.crawler_reclaimed -= store_base_.crawler_reclaimed;
  s.crawler_items_checked -= store_base_.crawler_items_checked;
  s.flush_prefix_items -= store_base_.flush_prefix_items;
  return s;
}

uint64_t ServerContext::TotalConnections() const {
  common::MutexLock lock(reset_mu_);
  return connections_.total.load(std::memory_order_relaxed) - total_conn_base_;
}

uint64_t ServerContext::RejectedConnections() const {
  common::MutexLock lock(reset_mu_);
  return connections_.rejected.load(std::memory_order_relaxed) - rejected_base_;
}

void ServerContext::ResetStats() {
  StatsTotals t;
  for (const auto& w : workers_) t.Add(w->stats);
  const storage::StoreStats s = store_->Stats();
  common::MutexLock lock(reset_mu_);
  thread_base_ = t;
  store_base_ = s;
  total_conn_base_ = connections_.total.load(std::memory_order_relaxed);
  rejected_base_ = connections_.rejected.load(std::memory_order_relaxed);
  prefix_stats_.Clear();
  class_base_ = store_->ClassTotals();
}

std::vector<storage::ClassStats> ServerContext::ClassTotals() const {
  std::vector<storage::ClassStats> totals = store_->ClassTotals();
  common::MutexLock lock(reset_mu_);
  for (size_t i = 0; i < totals.size() && i < class_base_.size(); ++i) {
    storage::ClassStats& t = totals[i];
    const storage::ClassStats& b = class_base_[i];
    // Everything but the live counts (items, requested) and evicted_time starts again from 0.
    for (uint64_t storage::ClassStats::*f :
         {&storage::ClassStats::evicted, &storage::ClassStats::evicted_nonzero,
          &storage::ClassStats::evicted_unfetched, &storage::ClassStats::reclaimed,
          &storage::ClassStats::expired_unfetched, &storage::ClassStats::get_hits,
          &storage::ClassStats::cmd_set, &storage::ClassStats::delete_hits,
          &storage::ClassStats::incr_hits, &storage::ClassStats::decr_hits,
          &storage::ClassStats::cas_hits, &storage::ClassStats::cas_badval,
          &storage::ClassStats::touch_hits, &storage::ClassStats::crawler_reclaimed,
          &storage::ClassStats::crawler_items_checked}) {
      t.*f -= b.*f;
    }
  }
  return totals;
}

}  // namespace cachet::server
