#pragma once
// `stats <group>`: settings, items, slabs, sizes and conns, with memcached 1.6.18's keys and
// formats, for any protocol to format (text STAT lines or binary stat packets).
#include <string_view>

#include "server/general_stats.h"
#include "server/server_context.h"

namespace cachet::server {

// Visits the stats of `group`; false if there is no such group (the caller answers ERROR).
bool VisitStatsGroup(ServerContext& server, std::string_view group, StatVisitor visit);

}  // namespace cachet::server
