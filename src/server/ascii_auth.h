#pragma once
// -Y: one text connection's authentication, as memcached 1.6.18 does it. Until the client
// authenticates, each line is either `set <key> <flags> <exptime> <bytes>` followed by
// "<user> <password>\r\n" (answered STORED when the -Y file has that entry; nothing is stored,
// noreply is ignored) or refused with "CLIENT_ERROR unauthenticated"; the connection stays
// open. Unlike memcached, which answers only the last of several pipelined lines, every line
// gets its reply.
#include <cstddef>
#include <cstdint>

#include "common/byte_buffer.h"
#include "server/auth_file.h"
#include "server/session_action.h"
#include "server/thread_stats.h"

namespace cachet::server {

class AsciiAuth {
 public:
  // `file` nullptr: -Y is off and every connection is authenticated.
  explicit AsciiAuth(const AuthFile* file) : file_(file), authenticated_(file == nullptr) {}

  bool authenticated() const { return authenticated_; }

  // Answers what is at the front of `in` until the client authenticates (the rest of `in` is
  // then the session's), the input runs out (`*wanted`: the bytes an authentication payload
  // needs, or 0), or the connection must close (more than 2048 bytes without a newline, or an
  // authentication payload announced longer than that).
  SessionAction Process(common::ByteBuffer& in, common::ByteBuffer& out, ThreadStats& stats,
                        size_t* wanted);

  // memcached closes a client that sends this much without a newline.
  static constexpr size_t kMaxLine = 2048;

 private:
  const AuthFile* const file_;
  bool authenticated_;
  bool in_payload_ = false;  // a `set` line was read: its payload (+ CRLF) comes next
  uint64_t payload_len_ = 0;
};

}  // namespace cachet::server
