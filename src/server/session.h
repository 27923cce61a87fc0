#pragma once
// A connection's protocol session: picks text or binary from the first byte it receives, as
// memcached does (0x80 starts a binary request), unless -B fixed the protocol.
#include <cstddef>

#include "common/byte_buffer.h"
#include "server/binary_session.h"
#include "server/buffer_charge.h"
#include "server/server_context.h"
#include "server/session_action.h"
#include "server/text_session.h"

namespace cachet::server {

class Session {
 public:
  Session(ServerContext& server, WorkerContext& worker)
      : server_(server), text_(server, worker), binary_(server, worker) {}

  SessionAction Process(common::ByteBuffer& in, common::ByteBuffer& out);
  // The client's socket number, which `watch` lines and logs name.
  void set_client_fd(int fd) {
    fd_ = fd;
    text_.set_client_fd(fd);
  }
  uint32_t watch_kinds() const { return text_.watch_kinds(); }
  bool yielded() const { return kind_ == Kind::kText && text_.yielded(); }
  bool waiting() const { return kind_ == Kind::kText && text_.waiting(); }
  // The connection's buffer charge: a reply the budget has no room for is not built.
  void set_buffer_charge(BufferCharge* charge) {
    text_.set_buffer_charge(charge);
    binary_.set_buffer_charge(charge);
  }
  void set_response_marks(std::vector<size_t>* marks) { text_.set_response_marks(marks); }
  size_t input_wanted() const {
    return kind_ == Kind::kBinary ? binary_.input_wanted() : text_.input_wanted();
  }

 private:
  enum class Kind : uint8_t { kUndecided, kText, kBinary };

  ServerContext& server_;
  Kind kind_ = Kind::kUndecided;
  int fd_ = 0;
  TextSession text_;
  BinarySession binary_;
};

}  // namespace cachet::server
