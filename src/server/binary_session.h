#pragma once
// One connection's binary-protocol conversation, without sockets (see text_session.h for the
// contract: bytes in, replies out, bounded memory). Follows memcached 1.6.18's binary protocol:
// quiet opcodes answer only errors (and hits, for the get family), a malformed header is
// answered with "Invalid arguments" and closes the connection, a bad magic byte closes it.
// Unlike memcached, an unknown opcode's body is skipped so the stream stays in sync.
#include <cstddef>
#include <cstdint>

#include "common/byte_buffer.h"
#include "protocol/binary_protocol.h"
#include "server/binary_auth.h"
#include "server/buffer_charge.h"
#include "server/server_context.h"
#include "server/session_action.h"

namespace cachet::server {

class BinarySession {
 public:
  BinarySession(ServerContext& server, WorkerContext& worker)
      : server_(server), worker_(worker), auth_(server.sasl()) {}

  SessionAction Process(common::ByteBuffer& in, common::ByteBuffer& out);
  size_t input_wanted() const { return input_wanted_; }
  void set_buffer_charge(BufferCharge* charge) { charge_ = charge; }

 private:
  enum class Step : uint8_t { kDone, kClose };

  // Runs one complete request (value included); the caller consumes it afterwards.
  Step Execute(const protocol::BinaryRequest& req, std::string_view value, common::ByteBuffer& out);
  void ExecuteGet(const protocol::BinaryRequest& req, common::ByteBuffer& out);
  void ExecuteStore(const protocol::BinaryRequest& req, std::string_view value,
                    common::ByteBuffer& out);
  void ExecuteArith(const protocol::BinaryRequest& req, common::ByteBuffer& out);
  void ExecuteStat(const protocol::BinaryRequest& req, common::ByteBuffer& out);
  void ExecuteFlush(const protocol::BinaryRequest& req, common::ByteBuffer& out);
  // Skips `bytes` of body, then answers `status` (memcached answers after the discard).
  void ZeroReplyCas(common::ByteBuffer& out, size_t from);
  void Discard(const protocol::BinaryHeader& h, protocol::BinaryStatus status, uint32_t bytes);

  ServerContext& server_;
  WorkerContext& worker_;
  BinaryAuth auth_;       // -S
  uint64_t swallow_ = 0;  // value bytes still to discard (too large, unknown opcode)
  bool swallow_reply_pending_ = false;
  protocol::BinaryHeader swallow_header_;
  protocol::BinaryStatus swallow_status_ = protocol::BinaryStatus::kOk;
  size_t input_wanted_ = 0;
  BufferCharge* charge_ = nullptr;  // the connection's (none in unit tests)
};

}  // namespace cachet::server
