#include "server/watch_events.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "common/numbers.h"
#include "protocol/key_syntax.h"
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

// A fetch or store line, built on the stack: a watched worker makes one per request (with
// snprintf and a heap string it was 12% of a set load's samples under 20 watchers).
class Line {
 public:
  Line& Add(std::string_view s) {
    s = s.substr(0, kRoom - n_);
    std::memcpy(buf_ + n_, s.data(), s.size());
    n_ += s.size();
    return *this;
  }
  Line& Num(uint64_t v) {
    if (kRoom - n_ >= 20) n_ += common::FormatU64(v, buf_ + n_);
    return *this;
  }
  // URI-encoded, as memcached logs keys; a key is at most 250 bytes (longer: cut there).
  Line& Key(std::string_view key) {
    key = key.substr(0, std::min(protocol::kMaxKeyLength, (kRoom - n_) / 3));
    n_ += protocol::UriEncode(buf_ + n_, key);
    return *this;
  }
  std::string_view view() const { return {buf_, n_}; }

 private:
  static constexpr size_t kRoom = 3 * 250 + 256;
  char buf_[kRoom];
  size_t n_ = 0;
};

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
  Line line;
  line.Add("type=item_get key=").Key(key);
  line.Add(found ? " status=found clsid=" : " status=not_found clsid=");
  line.Num(found ? static_cast<uint64_t>(server.store().ClassOf(key.size(), flags, value_len)) : 0);
  line.Add(" cfd=").Num(static_cast<uint64_t>(cfd)).Add(" size=").Num(found ? value_len : 0);
  server.watch().Emit(protocol::kWatchFetchers, line.view());
}

void WatchStore(ServerContext& server, int cfd, std::string_view key, common::Outcome outcome,
                std::string_view cmd, uint32_t exptime, size_t value_len, uint32_t flags) {
  if (!server.watch().Wants(protocol::kWatchMutations)) return;
  const uint32_t now = server.time().Now();
  Line line;
  line.Add("type=item_store key=").Key(key).Add(" status=").Add(StoreStatusName(outcome));
  line.Add(" cmd=").Add(cmd).Add(" ttl=").Num(exptime > now ? exptime - now : 0);
  line.Add(" clsid=").Num(
      static_cast<uint64_t>(server.store().ClassOf(key.size(), flags, value_len)));
  line.Add(" cfd=").Num(static_cast<uint64_t>(cfd)).Add(" size=").Num(value_len);
  server.watch().Emit(protocol::kWatchMutations, line.view());
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
