#pragma once
// Everything the command line sets, as one value built in app/ and passed down. No globals.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cachet::server {

// -B: which protocol connections speak (auto: decided by each connection's first byte).
enum class Protocol : uint8_t { kAuto, kAscii, kBinary };

// -Z and the -o ssl_* options, as memcached names them. Files are read by net/'s TLS context at
// start-up, on `refresh_certs` and on SIGHUP.
struct TlsSettings {
  bool enabled = false;                   // -Z
  std::optional<std::string> chain_cert;  // ssl_chain_cert (PEM chain, server cert first)
  std::optional<std::string> key;         // ssl_key
  int keyformat = 1;                      // ssl_keyformat: OpenSSL's SSL_FILETYPE_* (1 = PEM)
  int verify_mode = 0;                    // ssl_verify_mode 0-3: none / request / require / once
  std::optional<std::string> ciphers;     // ssl_ciphers: TLS 1.2 cipher list
  std::optional<std::string> ca_cert;     // ssl_ca_cert: CAs that client certificates must chain to
  uint32_t wbuf_size = 16 * 1024;         // ssl_wbuf_size (given in KiB)
  bool session_cache = false;             // ssl_session_cache
  bool kernel_tls = false;                // ssl_kernel_tls
  int min_version = 2;                    // ssl_min_version 0-3: TLS 1.0 / 1.1 / 1.2 / 1.3
};

struct Settings {
  // Network (memcached's -p -l -s -a -c -t -U -b).
  int tcp_port = 11211;  // 0 disables TCP; -1 picks an ephemeral port
  int udp_port = 0;
  // -o udp_amplification: one datagram's replies may total at most this many times its size,
  // and never less than UdpHandler's floor of 8 datagrams (0: no cap, as memcached).
  uint32_t udp_amplification = 10;
  // -o conn_sndbuf: each TCP client socket's SO_SNDBUF in KiB (0: the kernel's autotuning). The
  // kernel otherwise lets a client that never reads take up to ~4 MiB of replies per socket,
  // copied on its worker's turn (measured: 600 such clients asking for a 1 MB value made the
  // workers write 1.46 GB and stalled a probe 310-1500 ms; capped, 61 MB and 4-68 ms, with
  // gets of 500 KB values as fast over loopback).
  uint32_t conn_sndbuf_kib = 256;
  std::vector<std::string> listen_addresses;  // empty: all interfaces; "notls:" keeps one plain
  std::string unix_socket;                    // non-empty disables TCP and UDP
  unsigned unix_mask = 0700;
  int max_connections = 1024;
  int threads = 4;
  int backlog = 1024;
  Protocol protocol = Protocol::kAuto;
  TlsSettings tls;
  bool sasl = false;      // -S: binary protocol only, SASL (Cyrus) before any other command
  std::string auth_file;  // -Y: ascii protocol only, "user:password" tokens before any command

  // Memory (-m -M -I).
  size_t memory_limit = size_t{64} << 20;
  size_t item_size_max = size_t{1} << 20;
  bool evict_to_free = true;

  // Operator switches (-A -F -X -W -C -R -D).
  bool shutdown_enabled = false;  // -A: `shutdown` command allowed
  bool flush_enabled = true;      // -F clears: flush_all refused
  bool dump_enabled = true;       // -X clears: cachedump/metadump refused
  bool watch_enabled = true;      // -W clears: watch refused
  bool cas_enabled = true;        // -C clears: items report CAS 0
  int reqs_per_event = 20;        // -R: requests per connection before yielding
  char prefix_delimiter = ':';    // -D: `stats detail` key prefix delimiter
  bool detail_enabled = false;    // -D given: `stats detail` starts on

  // Size classes cachet reports in `stats items|slabs` (-f -n -o slab_chunk_max), shaped like
  // memcached's so its tools read them.
  double growth_factor = 1.25;
  int chunk_size = 48;
  size_t slab_chunk_max = 0;  // 0: item_size_max / 2

  // -o options with an effect here (the rest are accepted; see flags.cc).
  int idle_timeout = 0;     // seconds; 0 = never close idle connections
  int hashpower_init = 0;   // 0 = default
  bool lru_crawler = true;  // only changes which stats keys exist, as in memcached
  bool lru_maintainer = true;
  bool track_sizes = false;
  bool maxconns_fast = true;
  int metrics_port = 0;  // Prometheus text endpoint (cachet extension); 0 = off, -1 = any
  std::string metrics_address = "127.0.0.1";
  // Values `stats settings` echoes for memcached tunables cachet accepts without using.
  int tail_repair_time = 0;
  int lru_crawler_sleep = 100;
  uint32_t lru_crawler_tocrawl = 0;
  int hot_lru_pct = 20;
  int warm_lru_pct = 40;
  double hot_max_factor = 0.2;
  double warm_max_factor = 2.0;
  bool temp_lru = false;
  uint32_t temporary_ttl = 61;
  uint32_t watcher_logbuf_size = 256 * 1024;
  uint32_t worker_logbuf_size = 64 * 1024;
  uint32_t read_buf_mem_limit = 0;  // bytes; 0: BufferBudgetBytes() picks it
  bool slab_reassign = true;
  int slab_automove = 1;
  double slab_automove_ratio = 0.8;
  uint32_t slab_automove_window = 30;
  std::string hash_algorithm = "murmur3";

  // flush_prefix: rules active at once (-o flush_prefix_max_rules); past it, SERVER_ERROR.
  size_t flush_prefix_max_rules = 64;

  // Warm restart (-e, -o snapshot_interval, -o restore_unclean): the cache is saved to
  // memory_file at every graceful stop and loaded from it at start (server/memory_file.h).
  std::string memory_file;       // empty: off
  int snapshot_interval = 0;     // seconds between online snapshots; 0 = none
  int64_t restore_unclean = -1;  // max age (s) of an inexact file to load; -1 = never

  // Process (-d -P -u -k -r -L).
  bool daemonize = false;
  std::string pid_file;
  bool lock_memory = false;

  int verbose = 0;
  std::string user;        // -u
  std::string port_file;   // MEMCACHED_PORT_FILENAME
  bool debugtime = false;  // test-only clock control (CACHET_DEBUGTIME=1)

  // Items live in segments of max(1 MiB, -I). Each worker writes into a segment of its own and
  // eviction needs sealed ones to take from, so the store keeps at least threads + 4 of them
  // whatever -m says (and flags.cc refuses an -I whose segments -m cannot hold that many of).
  size_t segment_size() const { return std::max(size_t{1} << 20, item_size_max); }
  // The most a connection buffers of one request: the longest line and the largest value.
  size_t input_limit() const { return std::max(item_size_max, size_t{1} << 20) + (4 << 20); }
  // The connections' buffer budget (buffer_budget.h): -o read_buf_mem_limit, else 32 MiB, and
  // room for two requests of the largest size.
  size_t BufferBudgetBytes() const {
    if (read_buf_mem_limit != 0) return read_buf_mem_limit;
    return std::max(size_t{32} << 20, 2 * input_limit());
  }
  size_t min_segments() const { return static_cast<size_t>(threads) + 4; }

  // memcached's default is half its 1 MiB page, whatever -I (larger items are chained).
  size_t effective_slab_chunk_max() const {
    if (slab_chunk_max != 0) return slab_chunk_max;
    return item_size_max >= (size_t{1} << 20) ? size_t{512} << 10 : item_size_max / 2;
  }
};

}  // namespace cachet::server
