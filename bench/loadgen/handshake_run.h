#pragma once
// --handshakes: how fast one client thread can open TLS connections. Each is a full handshake
// (no session resumption), one `version` round trip, and a close.
#include <cstdint>
#include <string>

#include "loadgen/options.h"

namespace cachet::bench {

struct HandshakeResult {
  uint64_t done = 0;
  double seconds = 0;
  std::string fatal;  // why a connection failed, if one did
};

bool RunHandshakes(const LoadConfig& config, HandshakeResult* result);

}  // namespace cachet::bench
