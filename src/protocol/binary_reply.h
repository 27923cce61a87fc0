#pragma once
// How the binary protocol answers what a write did: memcached 1.6.18's status for each outcome
// and opcode, and the texts of its out-of-memory errors, in one place (the binary counterpart
// of text_reply.h).
#include <cstdint>
#include <string_view>

#include "common/byte_buffer.h"
#include "common/outcome.h"
#include "protocol/binary_protocol.h"

namespace cachet::protocol {

struct BinaryReply {
  BinaryStatus status;
  std::string_view text;  // the error's body; empty: the status's fixed text
};

// `base` is the request's base opcode (BaseOpcode); `creating` marks the add that an incr or
// decr miss with an expiration turns into.
BinaryReply BinaryReplyFor(common::Outcome outcome, uint8_t base, bool creating = false);

// The reply to a write that returns no value: OK carrying `cas` (nothing when quiet), or the
// outcome's error (quiet or not).
void AppendBinaryWriteReply(common::ByteBuffer& out, const BinaryHeader& request,
                            common::Outcome outcome, uint8_t base, bool quiet, uint64_t cas);

}  // namespace cachet::protocol
