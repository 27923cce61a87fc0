#include "protocol/binary_reply.h"

namespace cachet::protocol {

using common::Outcome;

BinaryReply BinaryReplyFor(Outcome outcome, uint8_t base, bool creating) {
  if (outcome == Outcome::kStored || outcome == Outcome::kDeleted || outcome == Outcome::kTouched) {
    return {BinaryStatus::kOk, {}};
  }
  if (creating) {
    return outcome == Outcome::kNoMemory
               ? BinaryReply{BinaryStatus::kOutOfMemory, "Out of memory allocating new item"}
               : BinaryReply{BinaryStatus::kNotStored, {}};
  }
  if (outcome == Outcome::kExists) return {BinaryStatus::kKeyExists, {}};
  if (outcome == Outcome::kNotFound || base == binop::kDelete) {
    return {BinaryStatus::kKeyNotFound, {}};
  }
  if (base == binop::kIncrement || base == binop::kDecrement) {
    return outcome == Outcome::kNonNumeric
               ? BinaryReply{BinaryStatus::kNonNumeric, {}}
               : BinaryReply{BinaryStatus::kOutOfMemory, "Out of memory incrementing value"};
  }
  if (outcome == Outcome::kNoMemory) {
    return {BinaryStatus::kOutOfMemory, "Out of memory allocating item"};
  }
  // memcached's NOT_STORED per command: add -> exists, replace -> not found.
  return {base == binop::kAdd       ? BinaryStatus::kKeyExists
          : base == binop::kReplace ? BinaryStatus::kKeyNotFound
                                    : BinaryStatus::kNotStored,
          {}};
}

void AppendBinaryWriteReply(common::ByteBuffer& out, const BinaryHeader& request, Outcome outcome,
                            uint8_t base, bool quiet, uint64_t cas) {
  const BinaryReply reply = BinaryReplyFor(outcome, base);
  if (reply.status != BinaryStatus::kOk) {
    AppendBinaryError(out, request, reply.status, reply.text);
  } else if (!quiet) {
    AppendBinaryResponse(out, request, BinaryStatus::kOk, cas, {}, {}, {});
  }
}

}  // namespace cachet::protocol
