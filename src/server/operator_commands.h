#pragma once
// The operator commands of a text connection: stats (every group, cachedump), lru_crawler,
// cache_memlimit, shutdown, watch, snapshot, verbosity, debugtime, refresh_certs and slabs, and
// the lru command cachet refuses. One per connection; it owns what outlives a line: a key
// listing in progress and what a watcher asked for.
//
// Where a new operator command goes (refresh_certs, snapshot, flush_prefix):
// - protocol/: a TextCommand and its name (text_parser.cc); its arguments as typed fields in
//   OperatorArgs (operator_request.h) parsed in operator_parser.cc, a bad argument carried as
//   its reply in OperatorArgs::error; its reply texts in text_reply.h.
// - here: one Execute* method, dispatched from Execute(), that checks the server's own
//   conditions (a settings switch, UDP) before sending OperatorArgs::error, then acts through
//   ServerContext (which gains the method the command needs, e.g. the store or TLS context).
#include <cstdint>

#include "common/byte_buffer.h"
#include "protocol/text_request.h"
#include "server/key_listing.h"
#include "server/server_context.h"
#include "server/session_action.h"

namespace cachet::server {

class OperatorCommands {
 public:
  static constexpr uint64_t kMaxWatchers = 20;  // memcached's WATCHER_LIMIT

  OperatorCommands(ServerContext& server, WorkerContext& worker)
      : server_(server), worker_(worker) {}

  // `first`: nothing came before this line in what the client sent at once (metadump and watch
  // must come first, as in memcached). Listings return kPaused until they finish: call again
  // with the same request.
  CommandStep Execute(const protocol::TextRequest& req, bool first, common::ByteBuffer& out);

  // UDP sessions refuse listings and watch (a forged source address would turn them into an
  // amplifier), as -X and -W refuse them.
  void set_udp(bool udp) { udp_ = udp; }
  // After Execute() returned kWatch: what the client asked to watch.
  uint32_t watch_kinds() const { return watch_kinds_; }

 private:
  CommandStep ExecuteStats(const protocol::TextRequest& req, common::ByteBuffer& out);
  CommandStep ExecuteLruCrawler(const protocol::TextRequest& req, bool first,
                                common::ByteBuffer& out);
  // slabs automove / reassign: memcached's answers for a cache with no pages to move.
  void ExecuteSlabs(const protocol::TextRequest& req, common::ByteBuffer& out);
  void ExecuteCacheMemlimit(const protocol::TextRequest& req, common::ByteBuffer& out);
  CommandStep ExecuteShutdown(const protocol::TextRequest& req, common::ByteBuffer& out);
  CommandStep ExecuteWatch(const protocol::TextRequest& req, bool first, common::ByteBuffer& out);
  // -Z: reloads the certificate files through the server's TLS context.
  void ExecuteRefreshCerts(const protocol::TextRequest& req, common::ByteBuffer& out);
  // kWaiting until the online snapshot it asked for is written.
  CommandStep ExecuteSnapshot(const protocol::TextRequest& req, common::ByteBuffer& out);
  CommandStep ContinueListing(common::ByteBuffer& out);

  ServerContext& server_;
  WorkerContext& worker_;
  KeyListing listing_;
  uint64_t snapshot_ticket_ = 0;  // the snapshot this connection waits for (0: none)
  bool udp_ = false;
  uint32_t watch_kinds_ = 0;
};

}  // namespace cachet::server
