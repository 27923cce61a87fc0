#pragma once
// The load generator's command line.
#include <cstddef>
#include <cstdint>
#include <string>

namespace cachet::bench {

enum class Protocol : uint8_t { kText, kMeta };
enum class KeyDist : uint8_t { kUniform, kZipf, kSequential };

struct LoadConfig {
  std::string host = "127.0.0.1";
  int port = 11211;
  Protocol protocol = Protocol::kText;
  int connections = 4;
  int pipeline = 1;  // requests written together per connection, all answered before the next
  int multiget = 1;  // keys per get request
  double set_fraction = 0;  // from --ratio SET:GET
  uint64_t key_start = 0;
  uint64_t keys = 100000;
  size_t key_size = 10;
  size_t value_size = 100;
  KeyDist dist = KeyDist::kUniform;
  double zipf_theta = 0.99;
  double duration_s = 0;   // stop after this long, or
  uint64_t requests = 0;   // after this many requests (sequential: one pass over the keys)
  double rate = 0;         // requests/s over all connections; 0 = as fast as replies come
  bool lookaside = false;  // get; set on miss. Hit ratio counted after `warmup` gets.
  uint64_t warmup = 0;
  uint64_t seed = 1;
  bool tls = false;         // TLS to the server (no certificate verification: benches only)
  uint64_t handshakes = 0;  // handshake mode: this many connect + TLS + version + close, in turn
};

// Parses argv; prints usage and exits on a bad command line.
LoadConfig ParseLoadOptions(int argc, char** argv);

}  // namespace cachet::bench
