#pragma once
// The general stats (memcached 1.6.18's keys, in its order), for any protocol to format.
#include <string_view>

#include "server/server_context.h"
#include "server/stat_writer.h"

namespace cachet::server {

void VisitGeneralStats(ServerContext& server, StatVisitor visit);

}  // namespace cachet::server
