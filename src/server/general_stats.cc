// The general stats: memcached 1.6.18's 92 keys in its order. Counters cachet has are real;
// those of memcached machinery cachet does not have (slab mover, LRU maintainer, ...) are 0.
#include "server/general_stats.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>

#include "server/stat_writer.h"

namespace cachet::server {

void VisitGeneralStats(ServerContext& server, StatVisitor visit) {
  const Settings& settings = server.settings();
  const StatsTotals t = server.ThreadTotals();
  const storage::StoreStats s = server.StoreTotals();
  const ConnectionCounters& conns = server.connections();
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  const int64_t current = conns.current.load(std::memory_order_relaxed);

  StatWriter w(visit);
  w.U("pid", static_cast<uint64_t>(::getpid()));
  w.U("uptime", server.time().Now());
  w.U("time", static_cast<uint64_t>(server.time().UnixNow()));
  w.S("version", "1.6.18");
  w.S("libevent", "none");  // cachet uses epoll directly
  w.U("pointer_size", sizeof(void*) * 8);
  w.Time("rusage_user", usage.ru_utime);
  w.Time("rusage_system", usage.ru_stime);
  w.U("max_connections", static_cast<uint64_t>(settings.max_connections));
  w.U("curr_connections", static_cast<uint64_t>(current > 0 ? current : 0));
  w.U("total_connections", server.TotalConnections());
  w.U("rejected_connections", server.RejectedConnections());
  w.U("connection_structures", static_cast<uint64_t>(current > 0 ? current : 0));
  w.U("response_obj_oom", 0);
  w.U("response_obj_count", 0);
  w.U("response_obj_bytes", 0);
  const ServerContext::BufferLevels buffers = server.BufferTotals();
  w.U("read_buf_count", buffers.count);
  w.U("read_buf_bytes", buffers.bytes);
  w.U("read_buf_bytes_free", buffers.bytes_free);
  w.U("read_buf_oom", t.read_buf_oom);
  w.U("reserved_fds", 20);
  w.U("cmd_get", t.cmd_get);
  w.U("cmd_set", t.cmd_set);
  w.U("cmd_flush", t.cmd_flush);
  w.U("cmd_touch", t.cmd_touch);
  w.U("cmd_meta", t.cmd_meta);
  w.U("get_hits", t.get_hits);
  w.U("get_misses", t.get_misses);
  w.U("get_expired", t.get_expired);
  w.U("get_flushed", s.get_flushed);
  w.U("delete_misses", t.delete_misses);
  w.U("delete_hits", t.delete_hits);
  w.U("incr_misses", t.incr_misses);
  w.U("incr_hits", t.incr_hits);
  w.U("decr_misses", t.decr_misses);
  w.U("decr_hits", t.decr_hits);
  w.U("cas_misses", t.cas_misses);
  w.U("cas_hits", t.cas_hits);
  w.U("cas_badval", t.cas_badval);
  w.U("touch_hits", t.touch_hits);
  w.U("touch_misses", t.touch_misses);
  w.U("store_too_large", t.store_too_large);
  w.U("store_no_memory", t.store_no_memory);
  w.U("auth_cmds", t.auth_cmds);
  w.U("auth_errors", t.auth_errors);
  if (settings.idle_timeout > 0) w.U("idle_kicks", t.idle_kicks);  // memcached: only then
  w.U("bytes_read", t.bytes_read);
  w.U("bytes_written", t.bytes_written);
  w.U("limit_maxbytes", server.memory_limit());
  w.U("accepting_conns", 1);
  w.U("listen_disabled_num", 0);
  w.U("time_in_listen_disabled_us", 0);
  w.U("threads", static_cast<uint64_t>(settings.threads));
  w.U("conn_yields", t.conn_yields);
  // memcached's table starts at 2^16 buckets (-o hashpower); cachet's index sizes itself.
  w.U("hash_power_level",
      static_cast<uint64_t>(settings.hashpower_init != 0 ? settings.hashpower_init : 16));
  w.U("hash_bytes", s.index_bytes);
  w.U("hash_is_expanding", 0);
  for (const char* name :
       {"slab_reassign_rescues", "slab_reassign_chunk_rescues", "slab_reassign_evictions_nomem",
        "slab_reassign_inline_reclaim", "slab_reassign_busy_items", "slab_reassign_busy_deletes",
        "slab_reassign_running", "slabs_moved"}) {
    w.U(name, 0);
  }
  // Like memcached, the crawler's and the LRU maintainer's keys exist only when they are on.
  if (settings.lru_crawler) {
    w.U("lru_crawler_running", server.crawler_running() ? 1 : 0);
    w.U("lru_crawler_starts", server.crawler_starts());
  }
  if (settings.lru_maintainer) w.U("lru_maintainer_juggles", 0);
  w.U("malloc_fails", 0);
  w.U("log_worker_dropped", 0);
  w.U("log_worker_written", 0);
  w.U("log_watcher_skipped", server.watch().skipped());
  w.U("log_watcher_sent", server.watch().sent());
  w.U("log_watchers", server.watch().watchers());
  if (settings.tls.enabled) {
    if (settings.tls.session_cache) w.U("ssl_new_sessions", t.ssl_new_sessions);
    w.U("ssl_handshake_errors", t.ssl_handshake_errors);
    w.U("time_since_server_cert_refresh", server.SecondsSinceCertRefresh());
  }
  w.U("unexpected_napi_ids", 0);
  w.U("round_robin_fallback", 0);
  w.U("bytes", s.bytes);
  w.U("curr_items", s.curr_items);
  w.U("total_items", s.total_items);
  w.U("slab_global_page_pool", 0);
  w.U("expired_unfetched", s.expired_unfetched);
  w.U("evicted_unfetched", s.evicted_unfetched);
  if (settings.lru_maintainer) w.U("evicted_active", 0);
  w.U("evictions", s.evictions);
  w.U("reclaimed", s.reclaimed);
  w.U("crawler_reclaimed", s.crawler_reclaimed);
  w.U("crawler_items_checked", s.crawler_items_checked);
  w.U("lrutail_reflocked", 0);
  if (settings.lru_maintainer) {
    for (const char* name : {"moves_to_cold", "moves_to_warm", "moves_within_lru",
                             "direct_reclaims", "lru_bumps_dropped"}) {
      w.U(name, 0);
    }
  }
  // cachet's warm restart (-e), after memcached's keys.
  if (const MemoryFile* file = server.memory_file()) {
    const RestartStats r = file->restart_stats();
    const SnapshotStats snap = file->snapshot_stats();
    w.S("restart_status", r.status);
    w.U("restart_loaded_items", r.loaded_items);
    w.U("restart_expired_items", r.expired_items);
    w.U("restart_load_ms", r.load_ms);
    w.S("snapshot_last_status", snap.last_status);
    w.U("snapshot_last_ms", snap.last_ms);
    w.U("snapshot_last_bytes", snap.last_bytes);
    w.U("snapshot_failures", snap.failures);
  }
  // cachet's flush_prefix, after memcached's keys once it has been used (a client that never
  // sends it sees memcached's list).
  if (server.prefix_used()) {
    w.U("cmd_flush_prefix", t.cmd_flush_prefix);
    w.U("flush_prefix_items", s.flush_prefix_items);
    w.U("flush_prefix_rules_active", s.flush_prefix_rules_active);
    w.U("flush_prefix_max_rules", settings.flush_prefix_max_rules);
  }
}

}  // namespace cachet::server
