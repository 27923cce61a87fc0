#include "server/watch_sink.h"

#include "protocol/text_request.h"

namespace cachet::server {

uint32_t ParseWatchKinds(std::string_view args) {
  uint32_t kinds = 0;
  for (std::string_view t = protocol::NextKey(&args); !t.empty(); t = protocol::NextKey(&args)) {
    if (t == "fetchers") {
      kinds |= kWatchFetchers;
    } else if (t == "mutations") {
      kinds |= kWatchMutations;
    } else if (t == "evictions") {
      kinds |= kWatchEvictions;
    } else if (t == "connevents") {
      kinds |= kWatchConnEvents;
    } else if (t == "rawcmds" || t == "sysevents" || t == "proxyreqs" || t == "proxyevents" ||
               t == "proxyuser") {
      kinds |= kWatchOther;
    } else {
      return 0;
    }
  }
  return kinds == 0 ? kWatchFetchers : kinds;
}

}  // namespace cachet::server
