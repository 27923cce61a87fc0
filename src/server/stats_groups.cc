// The operator stats groups. cachet has no slab allocator: `stats items` and `stats slabs`
// report its size classes (storage/size_classes.h), which follow memcached's progression, with
// per-class counts kept by the store, so memcached-tool and exporters read them and the numbers
// add up (the per-class `number`s sum to curr_items).
#include "server/stats_groups.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>

#include "server/stat_writer.h"

namespace cachet::server {
namespace {

constexpr size_t kPageSize = size_t{1} << 20;  // what memcached calls a slab page

const char* ProtocolName(Protocol p) {
  switch (p) {
    case Protocol::kAscii:
      return "ascii";
    case Protocol::kBinary:
      return "binary";
    case Protocol::kAuto:
      break;
  }
  return "auto-negotiate";
}

void VisitSettings(ServerContext& server, StatWriter& w) {
  const Settings& s = server.settings();
  w.U("maxbytes", server.memory_limit());
  w.I("maxconns", s.max_connections);
  w.I("tcpport", s.tcp_port);
  w.I("udpport", s.udp_port);
  std::string inter;
  for (const std::string& a : s.listen_addresses) inter += (inter.empty() ? "" : ",") + a;
  w.S("inter", inter.empty() ? "NULL" : inter);
  w.I("verbosity", server.verbosity());
  w.U("oldest", server.oldest_live());
  w.S("evictions", s.evict_to_free ? "on" : "off");
  w.S("domain_socket", s.unix_socket.empty() ? "NULL" : s.unix_socket);
  char umask[16];
  std::snprintf(umask, sizeof(umask), "%o", s.unix_mask);
  w.S("umask", umask);
  w.B("shutdown_command", s.shutdown_enabled);
  w.F("growth_factor", s.growth_factor);
  w.I("chunk_size", s.chunk_size);
  w.I("num_threads", s.threads);
  w.I("num_threads_per_udp", s.threads);
  w.S("stat_key_prefix", std::string_view(&s.prefix_delimiter, 1));
  w.B("detail_enabled", server.prefix_stats().enabled());
  w.I("reqs_per_event", s.reqs_per_event);
  w.B("cas_enabled", s.cas_enabled);
  w.I("tcp_backlog", s.backlog);
  w.S("binding_protocol", ProtocolName(s.protocol));
  w.B("auth_enabled_sasl", s.sasl);
  w.S("auth_enabled_ascii", s.auth_file.empty() ? "no" : s.auth_file);
  w.U("item_size_max", s.item_size_max);
  w.B("maxconns_fast", s.maxconns_fast);
  w.I("hashpower_init", s.hashpower_init);
  w.B("slab_reassign", s.slab_reassign);
  w.I("slab_automove", server.slabs().automove.load(std::memory_order_relaxed));
  w.F("slab_automove_ratio", server.slabs().automove_ratio.load(std::memory_order_relaxed));
  w.U("slab_automove_window", s.slab_automove_window);
  w.U("slab_chunk_max", s.effective_slab_chunk_max());
  const CrawlerSettings& crawler = server.crawler();
  w.B("lru_crawler", crawler.enabled.load(std::memory_order_relaxed));
  w.U("lru_crawler_sleep", crawler.sleep_us.load(std::memory_order_relaxed));
  w.U("lru_crawler_tocrawl", crawler.tocrawl.load(std::memory_order_relaxed));
  w.I("tail_repair_time", s.tail_repair_time);
  w.B("flush_enabled", s.flush_enabled);
  w.B("dump_enabled", s.dump_enabled);
  w.S("hash_algorithm", s.hash_algorithm);
  w.B("lru_maintainer_thread", s.lru_maintainer);
  w.B("lru_segmented", s.lru_maintainer);
  w.I("hot_lru_pct", s.hot_lru_pct);
  w.I("warm_lru_pct", s.warm_lru_pct);
  w.F("hot_max_factor", s.hot_max_factor);
  w.F("warm_max_factor", s.warm_max_factor);
  w.B("temp_lru", s.temp_lru);
  w.U("temporary_ttl", s.temporary_ttl);
  w.I("idle_timeout", s.idle_timeout);
  w.U("watcher_logbuf_size", s.watcher_logbuf_size);
  w.U("worker_logbuf_size", s.worker_logbuf_size);
  w.U("read_buf_mem_limit", s.read_buf_mem_limit);
  w.B("track_sizes", server.sizes_enabled());
  w.B("inline_ascii_response", false);
  // Debian's build has extstore; cachet reports its defaults (off) so tools that read these
  // keys find them.
  w.U("ext_item_size", 512);
  w.U("ext_item_age", 4294967295u);
  w.U("ext_low_ttl", 0);
  w.U("ext_recache_rate", 2000);
  w.U("ext_wbuf_size", 4194304);
  w.U("ext_compact_under", 0);
  w.U("ext_drop_under", 0);
  w.U("ext_max_sleep", 1000000);
  w.F("ext_max_frag", 0.80);
  w.F("slab_automove_freeratio", 0.01, 3);
  w.B("ext_drop_unread", false);
  const TlsSettings& tls = s.tls;
  w.B("ssl_enabled", tls.enabled);
  w.S("ssl_chain_cert", tls.chain_cert.value_or("(null)"));
  w.S("ssl_key", tls.key.value_or("(null)"));
  // memcached prints OpenSSL's flags: PEER 1, FAIL_IF_NO_PEER_CERT 2, CLIENT_ONCE 4.
  static constexpr int kVerifyFlags[] = {0, 1, 3, 7};
  w.I("ssl_verify_mode", kVerifyFlags[tls.verify_mode]);
  w.I("ssl_keyformat", tls.keyformat);
  w.S("ssl_ciphers", tls.ciphers.value_or("NULL"));
  w.S("ssl_ca_cert", tls.ca_cert.value_or("NULL"));
  w.U("ssl_wbuf_size", tls.wbuf_size);
  w.B("ssl_session_cache", tls.session_cache);
  w.B("ssl_kernel_tls", tls.kernel_tls);
  static constexpr const char* kVersions[] = {"tlsv1.0", "tlsv1.1", "tlsv1.2", "tlsv1.3"};
  w.S("ssl_min_version", kVersions[tls.min_version]);
  w.S("num_napi_ids", "(null)");
  w.S("memory_file", s.memory_file.empty() ? "(null)" : s.memory_file);
  // cachet's flush_prefix, after memcached's keys once it has been used.
  if (server.prefix_used()) w.U("flush_prefix_max_rules", s.flush_prefix_max_rules);
}

uint64_t OldestAge(ServerContext& server) {
  const uint32_t oldest = server.store().OldestWriteTime();
  const uint32_t now = server.time().Now();
  return oldest != 0 && now > oldest ? now - oldest : 0;
}

void VisitItems(ServerContext& server, StatWriter& w) {
  const std::vector<storage::ClassStats> classes = server.ClassTotals();
  const uint64_t age = OldestAge(server);
  const bool segmented = server.settings().lru_maintainer;
  for (size_t id = 1; id < classes.size(); ++id) {
    const storage::ClassStats& c = classes[id];
    if (c.items == 0) continue;  // memcached lists classes that hold items
    const int i = static_cast<int>(id);
    auto u = [&](std::string_view name, uint64_t v) { w.ClassU("items:", i, name, v); };
    u("number", c.items);
    if (segmented) {
      // cachet's segments form one FIFO: every item counts as "cold", none as hot or warm.
      u("number_hot", 0);
      u("number_warm", 0);
      u("number_cold", c.items);
      if (server.settings().temp_lru) u("number_temp", 0);
      u("age_hot", 0);
      u("age_warm", 0);
    }
    u("age", age);
    u("mem_requested", c.requested);
    u("evicted", c.evicted);
    u("evicted_nonzero", c.evicted_nonzero);
    u("evicted_time", c.evicted_time);
    u("outofmemory", 0);
    u("tailrepairs", 0);
    u("reclaimed", c.reclaimed);
    u("expired_unfetched", c.expired_unfetched);
    u("evicted_unfetched", c.evicted_unfetched);
    if (segmented) u("evicted_active", 0);
    u("crawler_reclaimed", c.crawler_reclaimed);
    u("crawler_items_checked", c.crawler_items_checked);
    u("lrutail_reflocked", 0);
    if (!segmented) continue;  // memcached's flat LRU has no more keys
    u("moves_to_cold", 0);
    u("moves_to_warm", 0);
    u("moves_within_lru", 0);
    u("direct_reclaims", 0);
    u("hits_to_hot", 0);
    u("hits_to_warm", 0);
    u("hits_to_cold", c.get_hits + c.touch_hits);
    u("hits_to_temp", 0);
  }
}

void VisitSlabs(ServerContext& server, StatWriter& w) {
  const storage::SizeClasses& sizes = server.store().size_classes();
  const std::vector<storage::ClassStats> classes = server.ClassTotals();
  uint64_t active = 0;
  uint64_t malloced = 0;
  for (size_t id = 1; id < classes.size(); ++id) {
    const storage::ClassStats& c = classes[id];
    const bool used = c.items != 0 || c.cmd_set != 0 || c.get_hits != 0 || c.evicted != 0;
    if (!used) continue;  // memcached lists classes that got pages
    const int i = static_cast<int>(id);
    const uint64_t chunk = sizes.chunk_size(i);
    const uint64_t per_page = std::max<uint64_t>(1, kPageSize / chunk);
    // Pages as memcached would need for this class's items: at least one once used.
    const uint64_t pages = std::max<uint64_t>(1, (c.items + per_page - 1) / per_page);
    auto u = [&](std::string_view name, uint64_t v) { w.ClassU("", i, name, v); };
    u("chunk_size", chunk);
    u("chunks_per_page", per_page);
    u("total_pages", pages);
    u("total_chunks", pages * per_page);
    u("used_chunks", c.items);
    u("free_chunks", pages * per_page - c.items);
    u("free_chunks_end", 0);
    u("get_hits", c.get_hits);
    u("cmd_set", c.cmd_set);
    u("delete_hits", c.delete_hits);
    u("incr_hits", c.incr_hits);
    u("decr_hits", c.decr_hits);
    u("cas_hits", c.cas_hits);
    u("cas_badval", c.cas_badval);
    u("touch_hits", c.touch_hits);
    ++active;
    malloced += pages * per_page * chunk;
  }
  w.U("active_slabs", active);
  w.U("total_malloced", malloced);
}

// Item sizes (memcached's, rounded up to 32 bytes) and how many items have each; a walk over
// the store, one shard at a time.
void VisitSizes(ServerContext& server, StatWriter& w) {
  if (!server.sizes_enabled()) {
    w.S("sizes_status", "disabled");
    return;
  }
  std::map<uint64_t, uint64_t> histogram;
  storage::Store& store = server.store();
  const uint32_t now = server.time().Now();
  for (size_t shard = 0; shard < store.shard_count(); ++shard) {
    size_t from = 0;
    do {
      from = store.ListShard(shard, from, 4096, now, [&](const storage::ListedItem& item) {
        ++histogram[(uint64_t{item.size} + 31) / 32 * 32];
      });
    } while (from != storage::Store::kListDone);
  }
  for (const auto& [size, count] : histogram) w.U(std::to_string(size), count);
}

void VisitConns(ServerContext& server, StatWriter& w) {
  const uint32_t now = server.time().Now();
  server.registry().Visit([&](const ConnInfo& c) {
    const std::string fd = std::to_string(c.fd) + ":";
    if (c.udp) w.S(fd + "UDP", "UDP");
    w.S(fd + "addr", c.addr);
    if (!c.listen_addr.empty()) w.S(fd + "listen_addr", c.listen_addr);
    w.S(fd + "state", ConnStateName(c.state.load(std::memory_order_relaxed)));
    const uint32_t last = c.last_cmd.load(std::memory_order_relaxed);
    w.U(fd + "secs_since_last_cmd", now > last ? now - last : 0);
  });
}

}  // namespace

bool VisitStatsGroup(ServerContext& server, std::string_view group, StatVisitor visit) {
  StatWriter w(visit);
  if (group == "settings") {
    VisitSettings(server, w);
  } else if (group == "items") {
    VisitItems(server, w);
  } else if (group == "slabs") {
    VisitSlabs(server, w);
  } else if (group == "sizes") {
    VisitSizes(server, w);
  } else if (group == "conns") {
    VisitConns(server, w);
  } else {
    return false;
  }
  return true;
}

}  // namespace cachet::server
