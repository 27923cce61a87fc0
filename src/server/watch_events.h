#pragma once
// The `watch` lines, in memcached 1.6.18's formats, emitted only when someone watches that kind.
#include <cstdint>
#include <string_view>

#include "server/server_context.h"

namespace cachet::server {

// fetchers: "type=item_get key=<k> status=found|not_found clsid=<c> cfd=<fd> size=<value len>"
void WatchFetch(ServerContext& server, int cfd, std::string_view key, bool found, size_t value_len,
                uint32_t flags);
// mutations: "type=item_store key=<k> status=<s> cmd=<cmd> ttl=<remaining> clsid=<c> cfd=<fd>
// size=<value len>"
void WatchStore(ServerContext& server, int cfd, std::string_view key, std::string_view status,
                std::string_view cmd, uint32_t exptime, size_t value_len, uint32_t flags);
// connevents: conn_new / conn_close for a client whose `stats conns` address is `addr`.
void WatchConnection(ServerContext& server, bool opened, int cfd, std::string_view addr);

}  // namespace cachet::server
