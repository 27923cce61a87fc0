#pragma once
// The Prometheus text exposition format (version 0.0.4) of cachet's stats: every numeric
// general stat as cachet_<name> (counters with a _total suffix), per size class item counts,
// bytes and evictions, and the process's resident memory.
#include <string>

#include "server/server_context.h"

namespace cachet::server {

std::string FormatPrometheus(ServerContext& server);

}  // namespace cachet::server
