#include "server/session.h"

#include <cstdio>

#include "protocol/binary_protocol.h"

namespace cachet::server {

SessionAction Session::Process(common::ByteBuffer& in, common::ByteBuffer& out) {
  if (kind_ == Kind::kUndecided) {
    if (in.empty()) return SessionAction::kContinue;
    switch (server_.settings().protocol) {
      case Protocol::kAscii:
        kind_ = Kind::kText;
        break;
      case Protocol::kBinary:
        kind_ = Kind::kBinary;
        break;
      case Protocol::kAuto:
        kind_ = static_cast<uint8_t>(in.readable()[0]) == protocol::kBinaryRequestMagic
                    ? Kind::kBinary
                    : Kind::kText;
        break;
    }
    if (server_.verbosity() >= 2) {
      std::fprintf(stderr, "%d: Client using the %s protocol\n", fd_,
                   kind_ == Kind::kBinary ? "binary" : "ascii");
    }
  }
  return kind_ == Kind::kBinary ? binary_.Process(in, out) : text_.Process(in, out);
}

}  // namespace cachet::server
