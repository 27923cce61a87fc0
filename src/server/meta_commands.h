#pragma once
// Execution of the meta commands (mg ms md ma mn me) that arrive on a text connection. Replies
// follow memcached 1.6.18: return flags in request order, `q` hides the nominal replies (EN for
// mg, HD for ms/md/ma) but never errors, W/X/Z carry the recache-token state.
#include "common/byte_buffer.h"
#include "protocol/text_request.h"
#include "server/buffer_charge.h"
#include "server/server_context.h"
#include "server/session_action.h"

namespace cachet::server {

class MetaCommands {
 public:
  MetaCommands(ServerContext& server, WorkerContext& worker) : server_(server), worker_(worker) {}

  // kWaiting: `mp w` waits for its sweep; run the same line again once the worker is woken.
  CommandStep Execute(const protocol::TextRequest& req, common::ByteBuffer& out);
  void set_client_fd(int fd) { client_fd_ = fd; }
  void set_udp(bool udp) { udp_ = udp; }  // nothing would drive a waiting reply
  void set_buffer_charge(BufferCharge* charge) { charge_ = charge; }

 private:
  void Get(const protocol::TextRequest& req, common::ByteBuffer& out);
  void Set(const protocol::TextRequest& req, common::ByteBuffer& out);
  void Delete(const protocol::TextRequest& req, common::ByteBuffer& out);
  void Arith(const protocol::TextRequest& req, common::ByteBuffer& out);
  void Debug(const protocol::TextRequest& req, common::ByteBuffer& out);
  CommandStep Prefix(const protocol::TextRequest& req, common::ByteBuffer& out);

  ServerContext& server_;
  WorkerContext& worker_;
  int client_fd_ = 0;
  bool udp_ = false;
  uint64_t waiting_rule_ = 0;       // mp w: the rule whose sweep this connection waits for
  BufferCharge* charge_ = nullptr;  // the connection's (none in unit tests)
};

}  // namespace cachet::server
