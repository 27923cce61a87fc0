#include "app/flags.h"

#include <getopt.h>
#include <unistd.h>

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
constexpr const char* kSubOptions[] = {"maxconns_fast",
                                       "no_maxconns_fast",
                                       "hashpower",
                                       "tail_repair_time",
                                       "hash_algorithm",
                                       "lru_crawler",
                                       "no_lru_crawler",
                                       "lru_crawler_sleep",
                                       "lru_crawler_tocrawl",
                                       "read_buf_mem_limit",
                                       "lru_maintainer",
                                       "no_lru_maintainer",
                                       "hot_lru_pct",
                                       "warm_lru_pct",
                                       "hot_max_factor",
                                       "warm_max_factor",
                                       "temporary_ttl",
                                       "idle_timeout",
                                       "slab_chunk_max",
                                       "watcher_logbuf_size",
                                       "worker_logbuf_size",
                                       "track_sizes",
                                       "no_hashexpand",
                                       "modern",
                                       "no_modern",
                                       "sock_cookie_id",
                                       "slab_reassign",
                                       "slab_automove",
                                       "slab_automove_ratio",
                                       "slab_automove_window",
                                       "slab_automove_freeratio",
                                       "no_inline_ascii_resp",
                                       "inline_ascii_resp",
                                       "drop_privileges",
                                       "no_drop_privileges",
                                       "lru_segmented",
                                       "no_lru_segmented",
                                       "temp_lru",
                                       "no_temp_lru",
                                       "no_chunked_items",
                                       "ext_path",
                                       "ext_page_size",
                                       "ext_wbuf_size",
                                       "ext_threads",
                                       "ext_item_size",
                                       "ext_item_age",
                                       "ext_low_ttl",
                                       "ext_drop_unread",
                                       "ext_recache_rate",
                                       "ext_compact_under",
                                       "ext_drop_under",
                                       "ext_max_frag",
                                       "ext_max_sleep",
                                       "ssl_chain_cert",
                                       "ssl_key",
                                       "ssl_keyformat",
                                       "ssl_verify_mode",
                                       "ssl_ciphers",
                                       "ssl_ca_cert",
                                       "ssl_wbuf_size",
                                       "ssl_session_cache",
                                       "ssl_kernel_tls",
                                       "ssl_min_version",
                                       "debug_sanity",
                                       "unsafe_allow_lru_crawler"};

void PrintUsage() {
  std::printf(
      "cachet 0.1.0 (memcached 1.6.18 compatible)\n"
      "-p, --port=<num>          TCP port to listen on (default: 11211, 0: off, -1: any)\n"
      "-U, --udp-port=<num>      UDP port to listen on (default: 0, off; only 0 supported)\n"
      "-s, --unix-socket=<file>  UNIX socket to listen on (disables network support)\n"
      "-a, --unix-mask=<mask>    access mask for UNIX socket, in octal (default: 700)\n"
      "-l, --listen=<addr>       interface to listen on (default: INADDR_ANY); repeatable,\n"
      "                          comma separated, optionally <addr>:<port>\n"
      "-u, --user=<user>         assume identity of <username> (only when run as root)\n"
      "-m, --memory-limit=<num>  item memory in megabytes, index included (default: 64)\n"
      "-M, --disable-evictions   return error on memory exhausted instead of evicting\n"
      "-c, --conn-limit=<num>    max simultaneous connections (default: 1024)\n"
      "-v, --verbose             verbose (print errors/warnings while in event loop)\n"
      "-h, --help                print this help and exit\n"
      "-V, --version             print version and exit\n"
      "-t, --threads=<num>       number of threads to use (default: 4)\n"
      "-b, --listen-backlog=<num> set the backlog queue limit (default: 1024)\n"
      "-I, --max-item-size=<num> adjusts max item size (default: 1m, min: 1k, max: 1024m)\n"
      "-B, --protocol=<name>     protocol - one of ascii, binary, or auto (default: "
      "auto-negotiate)\n"
      "-o, --extended            comma separated list of extended options; memcached's\n"
      "                          allocator and LRU tuning options are accepted and ignored\n"
      "Accepted for compatibility and ignored: -k -r -f -n -L -R -C -D -N -P.\n"
      "Not supported yet (refused): -d -A -S -F -X -W -Y -e -Z, -U <port>.\n"
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

bool ParseSubOptions(const char* arg) {
  std::stringstream ss(arg);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const std::string name = item.substr(0, item.find('='));
    bool known = false;
    for (const char* k : kSubOptions) known = known || name == k;
    if (!known) {
      std::fprintf(stderr, "Illegal suboption \"%s\"\n", item.c_str());
      return false;
    }
  }
  return true;
}

}  // namespace

FlagsResult ParseFlags(int argc, char** argv, server::Settings* s, int* exit_code) {
  *exit_code = 0;
  bool listen_given = false;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, kShortOptions, kLongOptions, nullptr)) != -1) {
    switch (c) {
      case 'a':
        s->unix_mask = static_cast<unsigned>(std::strtol(optarg, nullptr, 8));
        break;
      case 'p':
        s->tcp_port = std::atoi(optarg);
        break;
      case 's':
        s->unix_socket = optarg;
        break;
      case 'U':
        s->udp_port = std::atoi(optarg);
        if (s->udp_port != 0) {
          std::fprintf(stderr, "cachet: UDP (-U %s) is not supported yet; use -U 0\n", optarg);
          *exit_code = kExUsage;
          return FlagsResult::kExitError;
        }
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
        std::printf("cachet 0.1.0 (memcached 1.6.18 compatible)\n");
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
        if (!ParseSubOptions(optarg)) {
          *exit_code = 1;
          return FlagsResult::kExitError;
        }
        break;
      case 'k':
      case 'r':
      case 'f':
      case 'n':
      case 'L':
      case 'R':
      case 'C':
      case 'D':
      case 'N':
      case 'P':
      case 'i':
        break;  // accepted; they tune or report memcached internals cachet does not have
      case 'd':
      case 'A':
      case 'S':
      case 'F':
      case 'X':
      case 'W':
      case 'Y':
      case 'e':
      case 'Z':
        std::fprintf(stderr, "cachet: option -%c is not supported yet\n", c);
        *exit_code = kExUsage;
        return FlagsResult::kExitError;
      default:
        std::fprintf(stderr, "Illegal argument \"%c\"\n", c);
        *exit_code = 1;
        return FlagsResult::kExitError;
    }
  }
  if (optind < argc) {
    std::fprintf(stderr, "Illegal argument \"%s\"\n", argv[optind]);
    *exit_code = 1;
    return FlagsResult::kExitError;
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
  // Items live in segments of max(1 MiB, -I) and each worker writes into its own, so a large -I
  // needs memory for threads + 4 segments; refuse rather than silently exceed -m.
  const size_t need = (static_cast<size_t>(s->threads) + 4) * s->item_size_max;
  if (s->item_size_max > (size_t{1} << 20) && s->memory_limit < need) {
    std::fprintf(stderr,
                 "cachet: -I %zuk with -t %d needs -m %zu or more (each thread writes into its "
                 "own segment of -I bytes)\n",
                 s->item_size_max >> 10, s->threads, need >> 20);
    *exit_code = kExUsage;
    return FlagsResult::kExitError;
  }
  return FlagsResult::kRun;
}

}  // namespace cachet::app
