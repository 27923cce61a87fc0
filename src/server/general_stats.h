#pragma once
// The general stats (memcached 1.6.18's keys, in its order), for any protocol to format.
#include <string_view>

#include "common/function_ref.h"
#include "server/server_context.h"

namespace cachet::server {

using StatVisitor = common::FunctionRef<void(std::string_view name, std::string_view value)>;

void VisitGeneralStats(ServerContext& server, StatVisitor visit);

}  // namespace cachet::server
