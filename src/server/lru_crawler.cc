#include "server/lru_crawler.h"

#include <vector>

#include "server/server_context.h"

namespace cachet::server {

LruCrawler::LruCrawler(ServerContext& server, bool auto_crawl)
    : server_(server), auto_crawl_(auto_crawl), thread_([this] { Run(); }) {}

void LruCrawler::Stop() {
  {
    common::MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.NotifyAll();
  if (thread_.joinable()) thread_.join();  // called by the main thread only
}

bool LruCrawler::Request(bool all, const protocol::SlabClassSet& classes) {
  {
    common::MutexLock lock(mu_);
    if (pending_ || running()) return false;
    pending_ = true;
    request_ = Pass{all, classes};
  }
  cv_.NotifyAll();
  return true;
}

void LruCrawler::RequestSweep() {
  {
    common::MutexLock lock(mu_);
    sweep_pending_ = true;
  }
  cv_.NotifyAll();
}

void LruCrawler::Run() {
  using Clock = std::chrono::steady_clock;
  Clock::time_point next_auto = Clock::now() + kAutoInterval;
  while (true) {
    Pass pass;
    {
      common::MutexLock lock(mu_);
      while (!stop_ && !pending_ && !sweep_pending_ &&
             !(auto_crawl_ && Clock::now() >= next_auto)) {
        cv_.WaitUntil(mu_, auto_crawl_ ? next_auto : Clock::now() + std::chrono::hours(1));
      }
      if (stop_) return;
      if (pending_) {
        pass = request_;
        pending_ = false;
        // memcached sets its running flag as it accepts the request: a second one is BUSY.
        running_.store(true, std::memory_order_relaxed);
      } else if (sweep_pending_) {
        pass.sweep = true;
        sweep_pending_ = false;
      } else {
        running_.store(true, std::memory_order_relaxed);
      }
    }
    // A crawler switched off sweeps nothing either (`lru_crawler enable` asks again).
    if (server_.crawler().enabled.load(std::memory_order_relaxed)) {
      if (!pass.sweep) starts_.fetch_add(1, std::memory_order_relaxed);
      Crawl(pass);
    }
    running_.store(false, std::memory_order_relaxed);
    next_auto = Clock::now() + kAutoInterval;
  }
}

void LruCrawler::Crawl(const Pass& pass) {
  storage::Store& store = server_.store();
  const CrawlerSettings& settings = server_.crawler();
  const size_t classes = static_cast<size_t>(store.size_classes().count()) + 1;
  std::vector<bool> wanted;  // empty: every class
  if (!pass.all) {
    wanted.assign(classes, false);
    for (size_t id = 1; id < classes && id < pass.classes.size(); ++id) {
      wanted[id] = pass.classes.test(id);
    }
  }
  const uint32_t tocrawl = pass.sweep ? 0 : settings.tocrawl.load(std::memory_order_relaxed);
  std::vector<uint64_t> budget(classes, tocrawl != 0 ? tocrawl : ~uint64_t{0});
  // A pass that meets every item retires the prefix rules it has seen through.
  const bool full = pass.all && tocrawl == 0;
  // Writes again the items that mp I T marked without an exptime field (none otherwise).
  storage::Store::Writer writer(store);
  size_t since_pause = 0;
  for (size_t shard = 0; shard < store.shard_count(); ++shard) {
    for (size_t from = 0; from != storage::Store::kListDone;) {
      // `lru_crawler disable` ends a pass under way, as it stops memcached's crawler thread.
      if (!settings.enabled.load(std::memory_order_relaxed)) return;
      const size_t next = store.CrawlShard(shard, from, kSliceSlots, server_.time().Now(), wanted,
                                           &budget, full, full ? &writer : nullptr);
      since_pause += (next == storage::Store::kListDone ? kSliceSlots : next - from);
      from = next;
      // Like memcached (every 1000 items), pause once per kSliceSlots slots: a small cache is
      // crawled in one go.
      if (since_pause < kSliceSlots) continue;
      since_pause = 0;
      // A sweep frees memory a client is waiting for: no pause (measured: get p99 1.7x quiet).
      const uint32_t sleep_us = pass.sweep ? 0 : settings.sleep_us.load(std::memory_order_relaxed);
      if (sleep_us != 0 ? PauseFor(std::chrono::microseconds(sleep_us)) : stopping()) return;
    }
  }
}

bool LruCrawler::PauseFor(std::chrono::microseconds d) {
  const auto deadline = std::chrono::steady_clock::now() + d;
  common::MutexLock lock(mu_);
  while (!stop_ && std::chrono::steady_clock::now() < deadline) cv_.WaitUntil(mu_, deadline);
  return stop_;
}

}  // namespace cachet::server
