#pragma once
// The LRU crawler: one background thread that walks the store's index a slice at a time and
// drops expired and flushed items, counting them in memcached's crawler_items_checked and
// crawler_reclaimed (and expired_unfetched). `lru_crawler crawl <classes|all>` asks for a pass;
// with the LRU maintainer on (memcached's default) a pass over every class also runs on its
// own every kAutoInterval. `lru_crawler sleep` is the pause between slices, `tocrawl` the most
// items checked per class in one pass (0: all).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#include "common/mutex.h"
#include "protocol/operator_request.h"

namespace cachet::server {

class ServerContext;

class LruCrawler {
 public:
  // memcached's autocrawl adapts its schedule to the items' TTLs; a fixed real-time interval
  // keeps ours predictable (and independent of the test clock).
  static constexpr std::chrono::seconds kAutoInterval{60};
  // Index slots visited under one shard lock hold: a few microseconds.
  static constexpr size_t kSliceSlots = 1000;

  LruCrawler(ServerContext& server, bool auto_crawl);
  ~LruCrawler() { Stop(); }
  // Stops the thread (a pass under way ends at its next slice); the state stays readable.
  void Stop();
  LruCrawler(const LruCrawler&) = delete;
  LruCrawler& operator=(const LruCrawler&) = delete;

  // Asks for a pass over `classes` (memcached's ids; all when `all`). False while a pass is
  // asked for or under way (memcached's BUSY).
  bool Request(bool all, const protocol::SlabClassSet& classes);

  // flush_prefix: a full pass (every class, no tocrawl limit, no pauses) soon, so that the
  // rule's items are freed and the rule retired; not while the crawler is switched off. Never
  // BUSY.
  void RequestSweep();

  bool running() const { return running_.load(std::memory_order_relaxed); }
  uint64_t starts() const { return starts_.load(std::memory_order_relaxed); }

 private:
  struct Pass {
    bool all = true;
    protocol::SlabClassSet classes;
    bool sweep = false;
  };
  void Run();
  void Crawl(const Pass& pass);
  // Waits up to `d` or until stopped; true when stopped.
  bool PauseFor(std::chrono::microseconds d);
  bool stopping() {
    common::MutexLock lock(mu_);
    return stop_;
  }

  ServerContext& server_;
  const bool auto_crawl_;
  common::Mutex mu_;
  common::CondVar cv_;
  bool stop_ CACHET_GUARDED_BY(mu_) = false;
  bool pending_ CACHET_GUARDED_BY(mu_) = false;
  bool sweep_pending_ CACHET_GUARDED_BY(mu_) = false;
  Pass request_ CACHET_GUARDED_BY(mu_);
  std::atomic<bool> running_{false};
  std::atomic<uint64_t> starts_{0};
  std::thread thread_;  // last: started once everything above exists
};

}  // namespace cachet::server
