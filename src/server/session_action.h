#pragma once
#include <cstddef>
#include <cstdint>

namespace cachet::server {

// A session stops producing replies once this many are waiting to be sent, and its connection
// stops reading; a client that does not read its replies costs at most this plus one item.
inline constexpr size_t kOutputHighWater = 256 * 1024;

// What a protocol session tells its connection after handling input.
enum class SessionAction : uint8_t {
  kContinue,
  kClose,  // deliver what was answered, read nothing more, then close
};

}  // namespace cachet::server
