#pragma once
// State shared by every worker: settings, the store, the clock, per-thread stats and the
// connection counters that net/ keeps. Built once in app/ and passed down by reference.
//
// Threading: settings are immutable after start; the store is internally synchronised; each
// ThreadStats is written by its own worker only; connection counters are atomics written by net/.
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "common/buffer_pool.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "server/auth_file.h"
#include "server/buffer_budget.h"
#include "server/certificates.h"
#include "server/connection_registry.h"
#include "server/lru_crawler.h"
#include "server/memory_file.h"
#include "server/prefix_stats.h"
#include "server/sasl.h"
#include "server/server_time.h"
#include "server/settings.h"
#include "server/thread_stats.h"
#include "server/waker.h"
#include "server/watch_sink.h"
#include "storage/store.h"

namespace cachet::storage {
struct SnapshotMeta;
}

namespace cachet::server {

// The store the settings describe (its budget, segments, size rules and classes).
storage::StoreConfig StoreConfigFor(const Settings& settings);

// What net/ reports about connections (memcached's curr/total/rejected_connections).
struct ConnectionCounters {
  std::atomic<int64_t> current{0};
  std::atomic<uint64_t> total{0};
  std::atomic<uint64_t> rejected{0};
};

// lru_crawler's settings, changeable at run time (`lru_crawler enable|disable|sleep|tocrawl`).
// cachet has no crawler thread (expired items go when a read or an eviction meets them); these
// keep the commands' effects visible in `stats settings` and gate crawl/metadump like memcached.
// What `slabs automove` changes at run time (stats settings reports it).
struct SlabSettings {
  std::atomic<int> automove;
  std::atomic<double> automove_ratio;
};

struct CrawlerSettings {
  std::atomic<bool> enabled{true};
  std::atomic<uint32_t> sleep_us{100};
  std::atomic<uint32_t> tocrawl{0};
};

// A worker thread's own pieces: its stats and its append position in the store.
struct WorkerContext {
  explicit WorkerContext(storage::Store& store) : writer(store) {}
  ThreadStats stats;
  ThreadGauges gauges;
  storage::Store::Writer writer;
  Waker* waker = nullptr;  // wakes this worker's loop (set by net/ before it starts)
  // Large connection buffers kept for reuse (common/buffer_pool.h): per worker, outside the
  // buffer budget, so bounded on its own.
  common::BufferPool buffers{kKeptBufferBytes};
  static constexpr size_t kKeptBufferBytes = 4 << 20;
};

class ServerContext {
 public:
  ServerContext(const Settings& settings, const common::Clock& clock);

  const Settings& settings() const { return settings_; }
  storage::Store& store() { return *store_; }
  const ServerTime& time() const { return time_; }
  ConnectionCounters& connections() { return connections_; }
  BufferBudget& buffer_budget() { return buffer_budget_; }

  // Creates the context of one worker; call before the workers start.
  WorkerContext& AddWorker();

  // `debugtime`: moves the server clock forward (test builds or CACHET_DEBUGTIME=1 only).
  void AdvanceClock(int64_t seconds) { debug_clock_.Advance(seconds); }

  // flush_all with memcached's delay rules: <= 0 flushes now; otherwise a relative or absolute
  // time (protocol exptime rules) after which everything written before it is gone; a time in
  // the past flushes nothing and cancels a pending flush. A delayed flush runs on the first
  // request at or after its time.
  void FlushAll(int64_t delay);
  uint32_t oldest_live() const { return oldest_live_.load(std::memory_order_relaxed); }
  void RunPendingFlush(uint32_t now) {
    uint32_t at = flush_at_.load(std::memory_order_relaxed);
    if (at != 0 && now >= at && flush_at_.compare_exchange_strong(at, 0)) store_->Flush();
  }

  ConnectionRegistry& registry() { return registry_; }
  PrefixStats& prefix_stats() { return prefix_stats_; }
  WatchSink& watch() { return *watch_.load(std::memory_order_acquire); }
  // net/ installs the sink that reaches watching clients before its workers start, and takes it
  // away (nullptr) after they stopped.
  void set_watch_sink(WatchSink* sink) {
    watch_.store(sink != nullptr ? sink : &no_watch_, std::memory_order_release);
  }
  CrawlerSettings& crawler() { return crawler_; }
  const CrawlerSettings& crawler() const { return crawler_; }
  // The crawler's thread runs from StartCrawler (after a restore and after -d, before any
  // thread that reads stats starts) to StopCrawler or destruction; the object stays until then,
  // so stats keep reading it. `lru_crawler crawl`: false while a pass is asked for or under way
  // (BUSY); before StartCrawler (unit tests) nothing runs.
  void StartCrawler();
  void StopCrawler() {
    if (lru_crawler_) lru_crawler_->Stop();
  }
  bool RequestCrawl(bool all, const protocol::SlabClassSet& classes);
  // flush_prefix: false when the rule table is full. The crawler sweeps what it covers.
  // `stale` (mp I): the items are marked stale rather than dropped. Returns the rule's number
  // (0: the table is full).
  uint64_t FlushPrefix(std::string_view prefix, bool stale = false,
                       std::optional<uint32_t> stale_exptime = std::nullopt);
  // Whether flush_prefix/mp was ever asked for: its stats keys appear only then, so a client
  // that never uses it sees memcached's lists.
  bool prefix_used() const { return prefix_used_.load(std::memory_order_relaxed); }
  // `lru_crawler enable`: sweeps the rules left while the crawler was off.
  void ResumeSweeps() {
    if (lru_crawler_) lru_crawler_->RequestSweep();
  }
  bool crawler_running() const;
  uint64_t crawler_starts() const;
  SlabSettings& slabs() { return slabs_; }
  const SlabSettings& slabs() const { return slabs_; }

  // -S: app/ installs the SASL library before the workers start (nullptr without -S).
  void set_sasl(SaslAuthenticator* sasl) { sasl_ = sasl; }
  SaslAuthenticator* sasl() const { return sasl_; }
  // -Y: the tokens ascii clients must present (loaded by app/ at start-up and on SIGHUP).
  AuthFile& auth_file() { return auth_file_; }

  // -Z: net/ installs its TLS context before the workers start (nullptr: TLS is off).
  void set_certificates(CertificateReloader* certs) { certs_ = certs; }
  // `refresh_certs` and SIGHUP: reloads the certificate files; false with memcached's message
  // in `error` (the old certificate stays in use). "Error TLS not enabled" without -Z.
  bool RefreshCerts(std::string* error);
  // `stats` time_since_server_cert_refresh: seconds since the last successful load.
  uint32_t SecondsSinceCertRefresh() const {
    return time_.Now() - cert_refresh_.load(std::memory_order_relaxed);
  }
  // The store's per-class counters less what `stats reset` recorded (live counts untouched).
  std::vector<storage::ClassStats> ClassTotals() const;
  // `stats sizes`: on with -o track_sizes or `stats sizes_enable`.
  bool sizes_enabled() const { return sizes_enabled_.load(std::memory_order_relaxed); }
  void set_sizes_enabled(bool on) { sizes_enabled_.store(on, std::memory_order_relaxed); }
  // cache_memlimit changes the budget at run time; limit_maxbytes and maxbytes report it.
  size_t memory_limit() const { return store_->memory_limit(); }

  // `shutdown` (with -A): stops the process as SIGINT does, or SIGUSR1 when graceful.
  void RequestShutdown(bool graceful);

  // -e: the warm-restart file (null without -e).
  MemoryFile* memory_file() { return memory_file_.get(); }
  const MemoryFile* memory_file() const { return memory_file_.get(); }
  // A loaded snapshot replaces the empty store, and the server goes on in its time (time base,
  // test clock offset) with its pending delayed flush. Only before the workers exist.
  void RestoreFrom(std::unique_ptr<storage::Store> store, const storage::SnapshotMeta& meta);
  // What a snapshot taken now records beside the items.
  storage::SnapshotMeta SnapshotMetaNow(bool clean) const;

  int verbosity() const { return verbosity_.load(std::memory_order_relaxed); }
  void set_verbosity(int level) { verbosity_.store(level, std::memory_order_relaxed); }

  // Sums over all workers, less what `stats reset` recorded.
  StatsTotals ThreadTotals() const;
  // The workers' ThreadGauges, summed: read_buf_count, read_buf_bytes, read_buf_bytes_free.
  struct BufferLevels {
    uint64_t count = 0, bytes = 0, bytes_free = 0;
  };
  BufferLevels BufferTotals() const;
  storage::StoreStats StoreTotals() const;
  uint64_t TotalConnections() const;
  uint64_t RejectedConnections() const;
  void ResetStats();

 private:
  const Settings settings_;
  common::OffsetClock debug_clock_;
  ServerTime time_;
  std::unique_ptr<storage::Store> store_;
  ConnectionCounters connections_;
  BufferBudget buffer_budget_;
  std::vector<std::unique_ptr<WorkerContext>> workers_;  // fixed once workers start
  void Flush(uint32_t at);                               // `at`: server time, 0 = now
  std::atomic<uint32_t> flush_at_{0};
  std::atomic<bool> prefix_used_{false};
  std::atomic<uint32_t> oldest_live_{0};
  std::atomic<int> verbosity_;
  ConnectionRegistry registry_;
  NoWatchSink no_watch_;
  std::atomic<WatchSink*> watch_{&no_watch_};
  // Forwards evictions to `watch evictions`.
  class EvictionWatcher : public storage::EvictionObserver {
   public:
    explicit EvictionWatcher(ServerContext& server) : server_(server) {}
    bool Wants() const override;
    void OnEvict(const storage::EvictedItem& item, uint32_t now) override;

   private:
    ServerContext& server_;
  };
  EvictionWatcher eviction_watcher_;
  PrefixStats prefix_stats_;
  CrawlerSettings crawler_;
  SlabSettings slabs_;
  CertificateReloader* certs_ = nullptr;  // set before the workers start
  SaslAuthenticator* sasl_ = nullptr;     // set before the workers start
  AuthFile auth_file_;
  std::atomic<uint32_t> cert_refresh_{0};  // server time of the last load (0: at start-up)
  std::unique_ptr<MemoryFile> memory_file_;
  std::vector<storage::ClassStats> class_base_ CACHET_GUARDED_BY(reset_mu_);
  std::atomic<bool> sizes_enabled_;

  mutable common::Mutex reset_mu_;
  StatsTotals thread_base_ CACHET_GUARDED_BY(reset_mu_);
  storage::StoreStats store_base_ CACHET_GUARDED_BY(reset_mu_);
  uint64_t total_conn_base_ CACHET_GUARDED_BY(reset_mu_) = 0;
  uint64_t rejected_base_ CACHET_GUARDED_BY(reset_mu_) = 0;
  // Last: its thread stops before anything it reads goes away.
  std::unique_ptr<LruCrawler> lru_crawler_;
};

}  // namespace cachet::server
