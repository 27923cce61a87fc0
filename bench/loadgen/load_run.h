#pragma once
// One load run: N connections driven from one epoll loop on this thread (on a 2-core box a
// second client thread would only steal the server's core).
#include <openssl/types.h>

#include <cstdint>
#include <string>

#include "loadgen/histogram.h"
#include "loadgen/options.h"

namespace cachet::bench {

struct LoadResult {
  uint64_t requests = 0;  // completed requests (a multiget is one; lookaside sets included)
  uint64_t get_keys = 0;  // keys asked for by completed gets
  uint64_t sets = 0;
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t errors = 0;          // error replies, wrong values, unanswered or malformed replies
  uint64_t lookaside_gets = 0;  // after the warm-up
  uint64_t lookaside_hits = 0;
  double seconds = 0;
  std::string fatal;         // why a connection was dropped, if one was
  LatencyHistogram latency;  // ns per request, from its (intended) send time
};

// Runs the load; returns false when no connection could be made (*result->fatal says why).
bool RunLoad(const LoadConfig& config, LoadResult* result);

// --tls: the client context of every connection (no verification, no session resumption).
SSL_CTX* NewClientTlsContext();

}  // namespace cachet::bench
