#include "server/watch_events.h"

#include <cstdio>
#include <string>

#include "protocol/uri_encode.h"
#include "server/watch_sink.h"

namespace cachet::server {
namespace {

std::string_view StoreStatusName(common::Outcome o) {
  switch (o) {
    case common::Outcome::kStored:
      return "stored";
    case common::Outcome::kExists:
      return "exists";
    case common::Outcome::kNotFound:
      return "not_found";
    case common::Outcome::kTooLarge:
      return "too_large";
    default:
      return "not_stored";
  }
}

}  // namespace

void WatchLookupSlow(ServerContext& server, int cfd, std::string_view key) {
  bool found = false;
  size_t len = 0;
  uint32_t flags = 0;
  server.store().Peek(key, server.time().Now(), [&](const storage::ItemView& item) {
    found = true;
    len = item.value.size();
    flags = item.flags;
  });
  WatchFetch(server, cfd, key, found, len, flags);
}

void WatchFetch(ServerContext& server, int cfd, std::string_view key, bool found, size_t value_len,
                uint32_t flags) {
  if (!server.watch().Wants(protocol::kWatchFetchers)) return;
  std::string line = "type=item_get key=";
  protocol::AppendUriEncoded(line, key);
  char tail[96];
  const int n = std::snprintf(
      tail, sizeof(tail), " status=%s clsid=%d cfd=%d size=%zu", found ? "found" : "not_found",
      found ? server.store().ClassOf(key.size(), flags, value_len) : 0, cfd, found ? value_len : 0);
  line.append(tail, static_cast<size_t>(n));
  server.watch().Emit(protocol::kWatchFetchers, line);
}

void WatchStore(ServerContext& server, int cfd, std::string_view key, common::Outcome outcome,
                std::string_view cmd, uint32_t exptime, size_t value_len, uint32_t flags) {
  if (!server.watch().Wants(protocol::kWatchMutations)) return;
  const std::string_view status = StoreStatusName(outcome);
  const uint32_t now = server.time().Now();
  std::string line = "type=item_store key=";
  protocol::AppendUriEncoded(line, key);
  char tail[160];
  const int n =
      std::snprintf(tail, sizeof(tail), " status=%.*s cmd=%.*s ttl=%u clsid=%d cfd=%d size=%zu",
                    static_cast<int>(status.size()), status.data(), static_cast<int>(cmd.size()),
                    cmd.data(), exptime > now ? exptime - now : 0,
                    server.store().ClassOf(key.size(), flags, value_len), cfd, value_len);
  line.append(tail, static_cast<size_t>(n));
  server.watch().Emit(protocol::kWatchMutations, line);
}

void WatchFlushPrefix(ServerContext& server, int cfd, std::string_view prefix, bool ok) {
  if (!server.watch().Wants(protocol::kWatchMutations)) return;
  std::string line = "type=flush_prefix prefix=";
  protocol::AppendUriEncoded(line, prefix);
  line += ok ? " status=ok cfd=" : " status=too_many_rules cfd=";
  line += std::to_string(cfd);
  server.watch().Emit(protocol::kWatchMutations, line);
}

void WatchConnection(ServerContext& server, bool opened, int cfd, std::string_view addr,
                     std::string_view reason) {
  if (!server.watch().Wants(protocol::kWatchConnEvents)) return;
  // addr is "tcp:1.2.3.4:5", "tcp6:[::1]:5" or "unix:/path".
  std::string rip = "unix";
  std::string rport = "0";
  std::string transport = "local";
  if (!addr.starts_with("unix:")) {
    const size_t colon = addr.find(':');
    const size_t last = addr.rfind(':');
    transport = "tcp";
    rip = std::string(addr.substr(colon + 1, last - colon - 1));
    if (rip.size() > 1 && rip.front() == '[') rip = rip.substr(1, rip.size() - 2);
    rport = std::string(addr.substr(last + 1));
  }
  std::string line = opened ? "type=conn_new rip=" : "type=conn_close rip=";
  line += rip + " rport=" + rport + " transport=" + transport;
  if (!opened) {
    line += " reason=";
    line += reason;
  }
  line += " cfd=" + std::to_string(cfd);
  server.watch().Emit(protocol::kWatchConnEvents, line);
}

}  // namespace cachet::server
