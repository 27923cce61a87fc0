#pragma once
// Everything the command line sets, as one value built in app/ and passed down. No globals.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cachet::server {

// -B: which protocol connections speak (auto: decided by each connection's first byte).
enum class Protocol : uint8_t { kAuto, kAscii, kBinary };

struct Settings {
  // Network (memcached's -p -l -s -a -c -t -U -b).
  int tcp_port = 11211;  // 0 disables TCP; -1 picks an ephemeral port
  int udp_port = 0;
  std::vector<std::string> listen_addresses;  // empty: all interfaces
  std::string unix_socket;                    // non-empty disables TCP and UDP
  unsigned unix_mask = 0700;
  int max_connections = 1024;
  int threads = 4;
  int backlog = 1024;
  Protocol protocol = Protocol::kAuto;

  // Memory (-m -M -I).
  size_t memory_limit = size_t{64} << 20;
  size_t item_size_max = size_t{1} << 20;
  bool evict_to_free = true;

  int verbose = 0;
  std::string user;        // -u
  std::string port_file;   // MEMCACHED_PORT_FILENAME
  bool debugtime = false;  // test-only clock control (CACHET_DEBUGTIME=1)
};

}  // namespace cachet::server
