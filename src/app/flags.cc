#include "app/flags.h"

#include <getopt.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace cachet::app {
namespace {

constexpr int kExUsage = 64;  // memcached exits with EX_USAGE for bad sizes

// Every option memcached 1.6.18 accepts, so deployments' command lines parse the same way.
constexpr const char* kShortOptions = "a:Ap:s:U:m:Mc:khiVvdl:u:P:f:n:t:D:LR:CB:I:b:SFXWY:e:o:rZN:";

const option kLongOptions[] = {
    {"unix-mask", required_argument, nullptr, 'a'},
    {"enable-shutdown", no_argument, nullptr, 'A'},
    {"port", required_argument, nullptr, 'p'},
    {"unix-socket", required_argument, nullptr, 's'},
    {"udp-port", required_argument, nullptr, 'U'},
    {"memory-limit", required_argument, nullptr, 'm'},
    {"disable-evictions", no_argument, nullptr, 'M'},
    {"conn-limit", required_argument, nullptr, 'c'},
    {"lock-memory", no_argument, nullptr, 'k'},
    {"help", no_argument, nullptr, 'h'},
    {"license", no_argument, nullptr, 'i'},
    {"version", no_argument, nullptr, 'V'},
    {"enable-coredumps", no_argument, nullptr, 'r'},
    {"verbose", optional_argument, nullptr, 'v'},
    {"daemon", no_argument, nullptr, 'd'},
    {"listen", required_argument, nullptr, 'l'},
    {"user", required_argument, nullptr, 'u'},
    {"pidfile", required_argument, nullptr, 'P'},
    {"slab-growth-factor", required_argument, nullptr, 'f'},
    {"slab-min-size", required_argument, nullptr, 'n'},
    {"threads", required_argument, nullptr, 't'},
    {"enable-largepages", no_argument, nullptr, 'L'},
    {"max-reqs-per-event", required_argument, nullptr, 'R'},
    {"disable-cas", no_argument, nullptr, 'C'},
    {"listen-backlog", required_argument, nullptr, 'b'},
    {"protocol", required_argument, nullptr, 'B'},
    {"max-item-size", required_argument, nullptr, 'I'},
    {"enable-sasl", no_argument, nullptr, 'S'},
    {"disable-flush-all", no_argument, nullptr, 'F'},
    {"disable-dumping", no_argument, nullptr, 'X'},
    {"disable-watch", no_argument, nullptr, 'W'},
    {"auth-file", required_argument, nullptr, 'Y'},
    {"memory-file", required_argument, nullptr, 'e'},
    {"extended", required_argument, nullptr, 'o'},
    {"enable-ssl", no_argument, nullptr, 'Z'},
    {"napi-ids", required_argument, nullptr, 'N'},
    {nullptr, 0, nullptr, 0},
};

// -o suboptions memcached knows; cachet accepts them (most tune memcached's slab allocator or
// LRU, which cachet does not have, so they change nothing here).
constexpr const char* kSubOptions[] = {
    "maxconns_fast", "no_maxconns_fast", "hashpower", "tail_repair_time", "hash_algorithm",
    "lru_crawler", "no_lru_crawler", "lru_crawler_sleep", "lru_crawler_tocrawl",
    "read_buf_mem_limit", "lru_maintainer", "no_lru_maintainer", "hot_lru_pct", "warm_lru_pct",
    "hot_max_factor", "warm_max_factor", "temporary_ttl", "idle_timeout", "slab_chunk_max",
    "watcher_logbuf_size", "worker_logbuf_size", "track_sizes", "no_hashexpand", "modern",
    "no_modern", "sock_cookie_id", "slab_reassign", "slab_automove", "slab_automove_ratio",
    "slab_automove_window", "slab_automove_freeratio", "no_inline_ascii_resp", "inline_ascii_resp",
    "drop_privileges", "no_drop_privileges", "no_lru_segmented", "no_temp_lru", "no_chunked_items",
    "ext_path", "ext_page_size", "ext_wbuf_size", "ext_threads", "ext_item_size", "ext_item_age",
    "ext_low_ttl", "ext_drop_unread", "ext_recache_rate", "ext_compact_under", "ext_drop_under",
    "ext_max_frag", "ext_max_sleep", "ssl_chain_cert", "ssl_key", "ssl_keyformat",
    "ssl_verify_mode", "ssl_ciphers", "ssl_ca_cert", "ssl_wbuf_size", "ssl_session_cache",
    "ssl_kernel_tls", "ssl_min_version", "debug_sanity", "unsafe_allow_lru_crawler",
    // cachet extensions
    "metrics_port", "metrics_addr", "snapshot_interval", "restore_unclean", "udp_amplification",
    "flush_prefix_max_rules", "conn_sndbuf"};

// memcached's -h layout (tools and people grep it), with what cachet does differently.
void PrintUsage() {
  std::printf(
      "cachet 0.1.0 (memcached 1.6.18 compatible)\n"
      "-p, --port=<num>          TCP port to listen on (default: 11211, 0: off, -1: any)\n"
      "-U, --udp-port=<num>      UDP port to listen on (default: 0, off)\n"
      "-s, --unix-socket=<file>  UNIX socket to listen on (disables network support)\n"
      "-a, --unix-mask=<mask>    access mask for UNIX socket, in octal (default: 700)\n"
      "-A, --enable-shutdown     enable ascii \"shutdown\" command\n"
      "-l, --listen=<addr>       interface to listen on (default: INADDR_ANY)\n"
      "                          if TLS/SSL is enabled, 'notls' prefix can be used to\n"
      "                          disable for specific listeners (-l notls:<ip>:<port>) \n"
      "-d, --daemon              run as a daemon\n"
      "-r, --enable-coredumps    maximize core file limit (accepted, no effect)\n"
      "-u, --user=<user>         assume identity of <username> (only when run as root)\n"
      "-m, --memory-limit=<num>  item memory in megabytes, index included (default: 64)\n"
      "-M, --disable-evictions   return error on memory exhausted instead of evicting\n"
      "-c, --conn-limit=<num>    max simultaneous connections (default: 1024)\n"
      "-k, --lock-memory         lock down all paged memory (accepted, no effect)\n"
      "-v, --verbose             verbose (print errors/warnings while in event loop)\n"
      "-vv                       very verbose (also print client commands/responses)\n"
      "-h, --help                print this help and exit\n"
      "-i, --license             print license (accepted, no effect)\n"
      "-V, --version             print version and exit\n"
      "-P, --pidfile=<file>      save PID in <file>\n"
      "-f, --slab-growth-factor=<num> size class growth factor for stats (default: 1.25)\n"
      "-n, --slab-min-size=<bytes> smallest size class for stats (default: 48)\n"
      "-L, --enable-largepages   try to use large memory pages (accepted, no effect)\n"
      "-D <char>                 delimiter of key prefixes for `stats detail` (turns it on)\n"
      "-t, --threads=<num>       number of threads to use (default: 4)\n"
      "-R, --max-reqs-per-event  maximum number of requests per event (default: 20)\n"
      "-C, --disable-cas         disable use of CAS\n"
      "-b, --listen-backlog=<num> set the backlog queue limit (default: 1024)\n"
      "-B, --protocol=<name>     protocol - one of ascii, binary, or auto (default: "
      "auto-negotiate)\n"
      "-I, --max-item-size=<num> adjusts max item size (default: 1m, min: 1k, max: 1024m)\n"
      "-S, --enable-sasl         turn on Sasl authentication\n"
      "-F, --disable-flush-all   disable flush_all command\n"
      "-X, --disable-dumping     disable stats cachedump and lru_crawler metadump\n"
      "-W  --disable-watch       disable watch commands (live logging)\n"
      "-Y, --auth-file=<file>    (EXPERIMENTAL) enable ASCII protocol authentication. format:\n"
      "                          user:pass\\nuser2:pass2\\n\n"
      "-e, --memory-file=<file>  warm restart: load the cache from <file> at start, save it\n"
      "                          there at every graceful stop (SIGTERM, SIGINT, SIGUSR1)\n"
      "-Z, --enable-ssl          enable TLS/SSL\n"
      "-N, --napi-ids=<num>      NAPI ids (accepted, no effect)\n"
      "-o, --extended            comma separated list of extended options:\n"
      "   - idle_timeout:        close connections idle this many seconds (default: 0, never)\n"
      "   - hashpower:           initial hash table size (reported as hash_power_level)\n"
      "   - track_sizes:         enable 'stats sizes'\n"
      "   - no_lru_crawler, lru_crawler_sleep, lru_crawler_tocrawl, no_lru_maintainer,\n"
      "     watcher_logbuf_size (per-watcher buffer in KiB): as memcached\n"
      "   - metrics_port=<n>, metrics_addr=<ip>: Prometheus text endpoint (cachet extension;\n"
      "     default address 127.0.0.1)\n"
      "   - ssl_chain_cert:      certificate chain file in PEM format\n"
      "   - ssl_key:             private key, if not part of the -ssl_chain_cert\n"
      "   - ssl_keyformat:       private key format (PEM, DER or ENGINE) (default: PEM)\n"
      "   - ssl_verify_mode:     peer certificate verification mode, default is 0(None).\n"
      "                          valid values are 0(None), 1(Request), 2(Require)\n"
      "                          or 3(Once)\n"
      "   - ssl_ciphers:         specify cipher list to be used\n"
      "   - ssl_ca_cert:         PEM format file of acceptable client CA's\n"
      "   - ssl_wbuf_size:       size in kilobytes of per-connection SSL output buffer\n"
      "                          (default: 16; cachet encrypts from its reply buffer)\n"
      "   - ssl_session_cache:   enable server-side SSL session cache, to support session\n"
      "                          resumption\n"
      "   - ssl_kernel_tls:      enable kernel TLS offload\n"
      "   - ssl_min_version:     minimum protocol version to accept (default: tlsv1.2)\n"
      "                          valid values are 0(tlsv1.0), 1(tlsv1.1), 2(tlsv1.2), or "
      "3(tlsv1.3).\n"
      "   - snapshot_interval=<s>: with -e, also save online every <s> seconds (cachet)\n"
      "   - udp_amplification=<n>: a datagram's replies total at most <n> times its size,\n"
      "     at least 8 datagrams (default: 10; 0: no cap) (cachet)\n"
      "   - flush_prefix_max_rules=<n>: flush_prefix rules active at once (default: 64)\n"
      "     (cachet)\n"
      "   - conn_sndbuf=<KiB>: a TCP client's kernel send buffer (default: 256; 0: the\n"
      "     kernel's autotuning, as memcached) (cachet)\n"
      "   - restore_unclean=<max_age_s>: with -e, load a file not written at a clean stop\n"
      "     (an online snapshot after a crash) when at most this old (cachet)\n"
      "   memcached's slab allocator, LRU and extstore tuning options are accepted and\n"
      "   change nothing (cachet has no slabs); `stats settings` echoes them.\n"
      "Environment: MEMCACHED_PORT_FILENAME writes the bound ports;\n"
      "CACHET_DEBUGTIME=1 enables the test-only `debugtime <seconds>` command.\n");
}

// memcached's size parsing for -I: a number with an optional k/m suffix.
bool ParseSize(const char* s, size_t* out) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s, &end, 10);
  if (end == s) return false;
  size_t mult = 1;
  if (*end == 'k' || *end == 'K') {
    mult = 1024;
    ++end;
  } else if (*end == 'm' || *end == 'M') {
    mult = 1024 * 1024;
    ++end;
  }
  if (*end != '\0') return false;
  *out = static_cast<size_t>(v) * mult;
  return true;
}

bool ParseInt(const std::string& v, long min, long max, long* out) {
  char* end = nullptr;
  errno = 0;
  const long n = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0 || n < min || n > max) return false;
  *out = n;
  return true;
}

bool ParseDouble(const std::string& v, double* out) {
  char* end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0') return false;
  *out = d;
  return true;
}

// memcached's safe_strtol: a number, optionally followed by white space.
bool ParseLenient(const std::string& v, long min, long max, long* out) {
  char* end = nullptr;
  errno = 0;
  const long n = std::strtol(v.c_str(), &end, 10);
  if (end == v.c_str() || errno != 0 || (*end != '\0' && !std::isspace(*end))) return false;
  if (n < min || n > max) return false;
  *out = n;
  return true;
}

// The -o ssl_* options, with memcached's messages (exit 1). `has_value`: a '=' was given.
bool ApplyTlsOption(const std::string& name, const std::string& value, bool has_value,
                    server::TlsSettings* tls) {
  if (name == "ssl_session_cache" || name == "ssl_kernel_tls") {
    (name == "ssl_session_cache" ? tls->session_cache : tls->kernel_tls) = true;
    return true;
  }
  if (!has_value) {
    std::fprintf(stderr, "Missing %s argument\n", name.c_str());
    return false;
  }
  long n = 0;
  const bool numeric = name == "ssl_verify_mode" || name == "ssl_keyformat" ||
                       name == "ssl_wbuf_size" || name == "ssl_min_version";
  if (numeric) {
    const bool unsigned_value = name == "ssl_wbuf_size";
    if (!ParseLenient(value, unsigned_value ? 0 : INT_MIN, unsigned_value ? UINT32_MAX : INT_MAX,
                      &n)) {
      std::fprintf(stderr, "could not parse argument to %s\n", name.c_str());
      return false;
    }
  }
  if (name == "ssl_chain_cert") {
    tls->chain_cert = value;
  } else if (name == "ssl_key") {
    tls->key = value;
  } else if (name == "ssl_ciphers") {
    tls->ciphers = value;
  } else if (name == "ssl_ca_cert") {
    tls->ca_cert = value;
  } else if (name == "ssl_keyformat") {
    tls->keyformat = static_cast<int>(n);
  } else if (name == "ssl_wbuf_size") {
    tls->wbuf_size = static_cast<uint32_t>(n) * 1024;
  } else if (name == "ssl_verify_mode" || name == "ssl_min_version") {
    if (n < 0 || n > 3) {
      std::fprintf(stderr, "Invalid %s. Use help to see valid options.\n", name.c_str());
      return false;
    }
    (name == "ssl_verify_mode" ? tls->verify_mode : tls->min_version) = static_cast<int>(n);
  }
  return true;
}

// One -o suboption. Those with an effect (or echoed by `stats settings`) are parsed; the other
// known names are accepted and ignored. False, with memcached's message, for a bad one.
bool ApplySubOption(const std::string& item, server::Settings* s) {
  const size_t eq = item.find('=');
  const std::string name = item.substr(0, eq);
  const std::string value = eq == std::string::npos ? "" : item.substr(eq + 1);
  bool known = false;
  for (const char* k : kSubOptions) known = known || name == k;
  if (!known) {
    std::fprintf(stderr, "Illegal suboption \"%s\"\n", item.c_str());
    return false;
  }
  long n = 0;
  auto need_int = [&](long min, long max) {
    if (ParseInt(value, min, max, &n)) return true;
    std::fprintf(stderr, "Invalid value for %s: \"%s\"\n", name.c_str(), value.c_str());
    return false;
  };
  auto need_double = [&](double* out) {
    if (ParseDouble(value, out)) return true;
    std::fprintf(stderr, "Invalid value for %s: \"%s\"\n", name.c_str(), value.c_str());
    return false;
  };
  if (name.starts_with("ssl_")) {
    return ApplyTlsOption(name, value, eq != std::string::npos, &s->tls);
  } else if (name == "idle_timeout") {
    // memcached reads it with atoi: anything unparsable is 0 (no timeout).
    s->idle_timeout = std::max(0, std::atoi(value.c_str()));
  } else if (name == "hashpower") {
    if (value.empty()) {
      std::fprintf(stderr, "Missing numeric argument for hashpower\n");
      return false;
    }
    if (!ParseInt(value, LONG_MIN, LONG_MAX, &n)) {
      std::fprintf(stderr, "Invalid value for hashpower: \"%s\"\n", value.c_str());
      return false;
    }
    if (n < 12) {
      std::fprintf(stderr, "Initial hashtable multiplier of %ld is too low\n", n);
      return false;
    }
    if (n > 32) {
      std::fprintf(stderr,
                   "Initial hashtable multiplier of %ld is too high\n"
                   "Choose a value based on \"STAT hash_power_level\" from a running instance\n",
                   n);
      return false;
    }
    s->hashpower_init = static_cast<int>(n);
  } else if (name == "no_lru_crawler") {
    s->lru_crawler = false;
  } else if (name == "lru_crawler") {
    s->lru_crawler = true;
  } else if (name == "no_lru_maintainer") {
    s->lru_maintainer = false;
  } else if (name == "lru_maintainer") {
    s->lru_maintainer = true;
  } else if (name == "track_sizes") {
    s->track_sizes = true;
  } else if (name == "maxconns_fast") {
    s->maxconns_fast = true;
  } else if (name == "no_maxconns_fast") {
    s->maxconns_fast = false;
  } else if (name == "slab_chunk_max") {
    if (!need_int(1, 1L << 30)) return false;
    // memcached reads it in kilobytes unless -o modern style bytes are given.
    s->slab_chunk_max = static_cast<size_t>(n) * (n < 1024 ? 1024 : 1);
  } else if (name == "tail_repair_time") {
    if (!need_int(0, INT32_MAX)) return false;
    s->tail_repair_time = static_cast<int>(n);
  } else if (name == "lru_crawler_sleep") {
    if (!need_int(0, 1000000)) return false;
    s->lru_crawler_sleep = static_cast<int>(n);
  } else if (name == "lru_crawler_tocrawl") {
    if (!need_int(0, UINT32_MAX)) return false;
    s->lru_crawler_tocrawl = static_cast<uint32_t>(n);
  } else if (name == "hot_lru_pct") {
    if (!need_int(1, 80)) return false;
    s->hot_lru_pct = static_cast<int>(n);
  } else if (name == "warm_lru_pct") {
    if (!need_int(1, 80)) return false;
    s->warm_lru_pct = static_cast<int>(n);
  } else if (name == "hot_max_factor") {
    if (!need_double(&s->hot_max_factor)) return false;
  } else if (name == "warm_max_factor") {
    if (!need_double(&s->warm_max_factor)) return false;
  } else if (name == "temporary_ttl") {
    if (!need_int(0, UINT32_MAX)) return false;
    s->temp_lru = true;
    s->temporary_ttl = static_cast<uint32_t>(n);
  } else if (name == "no_temp_lru") {
    s->temp_lru = false;
  } else if (name == "watcher_logbuf_size" || name == "worker_logbuf_size") {
    if (!need_int(0, UINT32_MAX / 1024)) return false;
    (name[1] == 'a' ? s->watcher_logbuf_size : s->worker_logbuf_size) =
        static_cast<uint32_t>(n) * 1024;
  } else if (name == "read_buf_mem_limit") {
    if (!need_int(0, UINT32_MAX / (1024 * 1024))) return false;
    s->read_buf_mem_limit = static_cast<uint32_t>(n) * 1024 * 1024;
  } else if (name == "slab_reassign") {
    s->slab_reassign = true;
  } else if (name == "slab_automove") {
    if (value.empty()) {
      s->slab_automove = 1;
    } else {
      if (!need_int(0, 2)) return false;
      s->slab_automove = static_cast<int>(n);
    }
  } else if (name == "slab_automove_ratio") {
    if (!need_double(&s->slab_automove_ratio)) return false;
  } else if (name == "slab_automove_window") {
    if (!need_int(0, UINT32_MAX)) return false;
    s->slab_automove_window = static_cast<uint32_t>(n);
  } else if (name == "hash_algorithm") {
    if (value != "murmur3" && value != "jenkins" && value != "xxh3") {
      std::fprintf(stderr, "Unknown hash_algorithm option (jenkins, murmur3, xxh3)\n");
      return false;
    }
    s->hash_algorithm = value;
  } else if (name == "modern") {
    s->slab_reassign = true;
    s->slab_automove = 1;
    s->lru_crawler = true;
    s->lru_maintainer = true;
  } else if (name == "metrics_port") {
    if (!need_int(-1, 65535)) return false;  // -1: any free port (see the port file)
    s->metrics_port = static_cast<int>(n);
  } else if (name == "snapshot_interval") {
    if (!need_int(1, INT32_MAX)) return false;
    s->snapshot_interval = static_cast<int>(n);
  } else if (name == "udp_amplification") {
    if (!need_int(0, 1000000)) return false;
    s->udp_amplification = static_cast<uint32_t>(n);
  } else if (name == "conn_sndbuf") {
    if (!need_int(0, 1 << 20)) return false;
    s->conn_sndbuf_kib = static_cast<uint32_t>(n);
  } else if (name == "flush_prefix_max_rules") {
    if (!need_int(1, 65536)) return false;
    s->flush_prefix_max_rules = static_cast<size_t>(n);
  } else if (name == "restore_unclean") {
    if (!need_int(0, INT32_MAX)) return false;
    s->restore_unclean = n;
  } else if (name == "metrics_addr") {
    if (value.empty()) {
      std::fprintf(stderr, "Missing address for metrics_addr\n");
      return false;
    }
    s->metrics_address = value;
  }
  return true;
}

bool ParseSubOptions(const char* arg, server::Settings* s) {
  std::stringstream ss(arg);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!ApplySubOption(item, s)) return false;
  }
  return true;
}

}  // namespace

FlagsResult ParseFlags(int argc, char** argv, server::Settings* s, int* exit_code) {
  *exit_code = 0;
  bool listen_given = false;
  bool protocol_given = false;
  bool tcp_given = false;
  bool udp_given = false;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, kShortOptions, kLongOptions, nullptr)) != -1) {
    switch (c) {
      case 'a':
        s->unix_mask = static_cast<unsigned>(std::strtol(optarg, nullptr, 8));
        break;
      case 'p':
        s->tcp_port = std::atoi(optarg);
        tcp_given = true;
        break;
      case 's':
        s->unix_socket = optarg;
        break;
      case 'U':
        s->udp_port = std::atoi(optarg);
        udp_given = true;
        break;
      case 'm':
        s->memory_limit = static_cast<size_t>(std::strtoull(optarg, nullptr, 10)) << 20;
        break;
      case 'M':
        s->evict_to_free = false;
        break;
      case 'c':
        s->max_connections = std::atoi(optarg);
        if (s->max_connections <= 0) {
          std::fprintf(stderr, "Maximum connections must be greater than 0\n");
          *exit_code = 1;
          return FlagsResult::kExitError;
        }
        break;
      case 'h':
        PrintUsage();
        return FlagsResult::kExitOk;
      case 'V':
        // What memcached prints, for scripts that parse it; -h names cachet.
        std::printf("memcached 1.6.18\n");
        return FlagsResult::kExitOk;
      case 'v':
        ++s->verbose;
        break;
      case 'l': {
        if (!listen_given) s->listen_addresses.clear();
        listen_given = true;
        std::stringstream ss(optarg);
        std::string addr;
        while (std::getline(ss, addr, ',')) {
          if (!addr.empty()) s->listen_addresses.push_back(addr);
        }
        break;
      }
      case 'u':
        s->user = optarg;
        break;
      case 't':
        s->threads = std::atoi(optarg);
        if (s->threads <= 0) {
          std::fprintf(stderr, "Number of threads must be greater than 0\n");
          *exit_code = 1;
          return FlagsResult::kExitError;
        }
        break;
      case 'b':
        s->backlog = std::atoi(optarg);
        break;
      case 'I': {
        size_t size = 0;
        if (!ParseSize(optarg, &size)) size = 0;
        s->item_size_max = size;
        break;
      }
      case 'B':
        protocol_given = true;
        if (std::strcmp(optarg, "auto") == 0) {
          s->protocol = server::Protocol::kAuto;
        } else if (std::strcmp(optarg, "binary") == 0) {
          s->protocol = server::Protocol::kBinary;
        } else if (std::strcmp(optarg, "ascii") == 0) {
          s->protocol = server::Protocol::kAscii;
        } else {
          std::fprintf(stderr,
                       "Invalid value for binding protocol: %s\n"
                       " -- should be one of auto, binary, or ascii\n",
                       optarg);
          *exit_code = kExUsage;
          return FlagsResult::kExitError;
        }
        break;
      case 'o':
        if (!ParseSubOptions(optarg, s)) {
          *exit_code = 1;
          return FlagsResult::kExitError;
        }
        break;
      case 'A':
        s->shutdown_enabled = true;
        break;
      case 'F':
        s->flush_enabled = false;
        break;
      case 'X':
        s->dump_enabled = false;
        break;
      case 'W':
        s->watch_enabled = false;
        break;
      case 'C':
        s->cas_enabled = false;
        break;
      case 'R':
        s->reqs_per_event = std::atoi(optarg);
        if (s->reqs_per_event <= 0) {
          std::fprintf(stderr, "Number of requests per event must be greater than 0\n");
          *exit_code = 1;
          return FlagsResult::kExitError;
        }
        break;
      case 'D':
        if (optarg[0] == '\0' || optarg[1] != '\0') {
          std::fprintf(stderr, "No delimiter specified\n");
          *exit_code = 1;
          return FlagsResult::kExitError;
        }
        s->prefix_delimiter = optarg[0];
        s->detail_enabled = true;
        break;
      case 'f':
        s->growth_factor = std::atof(optarg);
        if (s->growth_factor <= 1.0) {
          std::fprintf(stderr, "Factor must be greater than 1\n");
          *exit_code = 1;
          return FlagsResult::kExitError;
        }
        break;
      case 'n':
        s->chunk_size = std::atoi(optarg);
        if (s->chunk_size <= 0) {
          std::fprintf(stderr, "Chunk size must be greater than 0\n");
          *exit_code = 1;
          return FlagsResult::kExitError;
        }
        break;
      case 'd':
        s->daemonize = true;
        break;
      case 'P':
        s->pid_file = optarg;
        break;
      case 'k':
        s->lock_memory = true;
        break;
      case 'r':
      case 'L':
      case 'N':
      case 'i':
        break;  // accepted; they tune or report memcached internals cachet does not have
      case 'e':
        s->memory_file = optarg;
        break;
      case 'Z':
        s->tls.enabled = true;
        break;
      case 'S':
        s->sasl = true;
        break;
      case 'Y':
        s->auth_file = optarg;
        break;
      default:
        std::fprintf(stderr, "Illegal argument \"%c\"\n", c);
        *exit_code = 1;
        return FlagsResult::kExitError;
    }
  }
  // memcached: -S forces the binary protocol and -Y the ascii one, and refuses another -B.
  if (s->sasl) {
    if (!protocol_given) {
      s->protocol = server::Protocol::kBinary;
    } else if (s->protocol != server::Protocol::kBinary) {
      std::fprintf(stderr, "ERROR: You cannot allow the ASCII protocol while using SASL.\n");
      *exit_code = kExUsage;
      return FlagsResult::kExitError;
    }
    if (s->udp_port != 0) {
      std::fprintf(stderr, "ERROR: Cannot enable UDP while using binary SASL authentication.\n");
      *exit_code = kExUsage;
      return FlagsResult::kExitError;
    }
  }
  if (!s->auth_file.empty()) {
    if (!protocol_given) {
      s->protocol = server::Protocol::kAscii;
    } else if (s->protocol != server::Protocol::kAscii) {
      std::fprintf(stderr,
                   "ERROR: You cannot allow the BINARY protocol while using ascii "
                   "authentication tokens.\n");
      *exit_code = kExUsage;
      return FlagsResult::kExitError;
    }
  }
  if (s->memory_file.empty() && (s->snapshot_interval > 0 || s->restore_unclean >= 0)) {
    std::fprintf(stderr, "cachet: snapshot_interval and restore_unclean need -e <file>\n");
    *exit_code = kExUsage;
    return FlagsResult::kExitError;
  }
  // memcached: a UDP port given without a TCP one is used for TCP too.
  if (udp_given && !tcp_given && s->udp_port != 0) s->tcp_port = s->udp_port;
  if (optind < argc) {
    std::fprintf(stderr, "Illegal argument \"%s\"\n", argv[optind]);
    *exit_code = 1;
    return FlagsResult::kExitError;
  }
  for (const int port : {s->tcp_port, s->udp_port}) {
    if (port > 65535) {
      std::fprintf(stderr, "ERROR: Invalid port number %d.\n", port);
      *exit_code = kExUsage;
      return FlagsResult::kExitError;
    }
  }
  if (s->item_size_max < 1024) {
    std::fprintf(stderr, "Item max size cannot be less than 1024 bytes.\n");
    *exit_code = kExUsage;
    return FlagsResult::kExitError;
  }
  if (s->item_size_max > s->memory_limit / 2) {
    std::fprintf(stderr, "Cannot set item size limit higher than 1/2 of memory max.\n");
    *exit_code = kExUsage;
    return FlagsResult::kExitError;
  }
  if (s->item_size_max > (size_t{1024} << 20)) {
    std::fprintf(stderr, "Cannot set item size limit higher than a gigabyte.\n");
    *exit_code = kExUsage;
    return FlagsResult::kExitError;
  }
  // A large -I makes segments that large: refuse an -m that cannot hold the store's minimum
  // number of them rather than silently exceed it.
  const size_t need = s->min_segments() * s->segment_size();
  if (s->item_size_max > (size_t{1} << 20) && s->memory_limit < need) {
    std::fprintf(stderr,
                 "cachet: -I %zuk with -t %d needs -m %zu or more (each thread writes into its "
                 "own segment of -I bytes)\n",
                 s->item_size_max >> 10, s->threads, need >> 20);
    *exit_code = kExUsage;
    return FlagsResult::kExitError;
  }
  if (s->tls.enabled && s->tcp_port == 0) {
    std::fprintf(stderr, "ERROR: You cannot enable SSL without a TCP port.\n");
    *exit_code = kExUsage;
    return FlagsResult::kExitError;
  }
  return FlagsResult::kRun;
}

}  // namespace cachet::app
