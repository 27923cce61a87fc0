#pragma once
// Validates one server reply against the request it answers: framing (lines, data blocks and
// their CRLF), which keys hit, and that every returned value is the one value_pattern.h defines
// for its key. A reply that cannot be framed is malformed: the stream is out of step and the
// connection must be dropped. A well-framed reply that is wrong (an error line, an unexpected
// key, a wrong value) is counted as an error and the stream goes on.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace cachet::bench {

enum class ReplyKind : uint8_t { kTextGet, kTextSet, kMetaGet, kMetaSet };
enum class ReplyParse : uint8_t { kNeedMore, kOk, kMalformed };

struct ReplyOutcome {
  size_t consumed = 0;
  uint32_t hits = 0;
  uint32_t misses = 0;
  bool error = false;
  uint64_t hit_mask = 0;  // bit i: the request's key i hit (first 64 keys)
};

// Parses the reply at the front of `in`. `keys` holds the request's keys, `key_size` bytes
// each, back to back.
ReplyParse ParseReply(std::string_view in, ReplyKind kind, std::string_view keys, size_t key_size,
                      size_t value_size, ReplyOutcome* out);

}  // namespace cachet::bench
