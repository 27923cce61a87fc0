#pragma once
#include <cstddef>
#include <cstdint>

#include "common/byte_buffer.h"

namespace cachet::server {

// Discards up to *remaining bytes from the front of `in`; true once all of them are gone (the
// data of a refused request is dropped as it arrives, never buffered).
inline bool DiscardInput(common::ByteBuffer& in, uint64_t* remaining) {
  const size_t n = static_cast<size_t>(*remaining < in.size() ? *remaining : in.size());
  in.Consume(n);
  *remaining -= n;
  return *remaining == 0;
}

// A session stops producing replies once this many are waiting to be sent, and its connection
// stops reading; a client that does not read its replies costs at most this plus one item.
inline constexpr size_t kOutputHighWater = 256 * 1024;

// What a protocol session tells its connection after handling input.
enum class SessionAction : uint8_t {
  kContinue,
  kClose,  // deliver what was answered, read nothing more, then close
  // The same, because the client broke the protocol (an HTTP request, a line or frame memcached
  // refuses to read on): `watch connevents` logs reason=error, as memcached does.
  kCloseOnError,
  kWatch,  // `watch`: hand the socket, with what was answered, to the watch log
};

// What executing one request line did, inside a session.
enum class CommandStep : uint8_t {
  kDone,
  kPaused,  // stopped part-way (a multiget or listing): run the same line again later
  // Waits for work on another thread (`snapshot`): run the same line again once the worker is
  // woken (WorkerContext::waker), not before.
  kWaiting,
  kClose,
  kWatch,
};

}  // namespace cachet::server
