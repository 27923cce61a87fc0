#pragma once
// The `watch` lines, in memcached 1.6.18's formats, emitted only when someone watches that kind.
#include <cstdint>
#include <string_view>

#include "common/outcome.h"
#include "server/server_context.h"

namespace cachet::server {

// fetchers, for the lookup a command makes (found or not) as memcached logs it: the item is
// looked at without marking it read. Costs one relaxed load when nobody watches.
void WatchLookupSlow(ServerContext& server, int cfd, std::string_view key);
inline void WatchLookup(ServerContext& server, int cfd, std::string_view key) {
  if (server.watch().Wants(protocol::kWatchFetchers)) WatchLookupSlow(server, cfd, key);
}
// fetchers: "type=item_get key=<k> status=found|not_found clsid=<c> cfd=<fd> size=<value len>"
void WatchFetch(ServerContext& server, int cfd, std::string_view key, bool found, size_t value_len,
                uint32_t flags);
// mutations: "type=item_store key=<k> status=<s> cmd=<cmd> ttl=<remaining> clsid=<c> cfd=<fd>
// size=<value len>"
// (status from the store's outcome: stored, exists, not_found, too_large or not_stored).
void WatchStore(ServerContext& server, int cfd, std::string_view key, common::Outcome outcome,
                std::string_view cmd, uint32_t exptime, size_t value_len, uint32_t flags);
// mutations (cachet): "type=flush_prefix prefix=<p> status=ok|too_many_rules cfd=<fd>"
void WatchFlushPrefix(ServerContext& server, int cfd, std::string_view prefix, bool ok);
// connevents: conn_new / conn_close for a client whose `stats conns` address is `addr`; a close
// says why: memcached's reason=normal or reason=error (the client broke the protocol), or
// cachet's reason=out_of_memory (the buffer budget had no room for it).
void WatchConnection(ServerContext& server, bool opened, int cfd, std::string_view addr,
                     std::string_view reason = "normal");

}  // namespace cachet::server
