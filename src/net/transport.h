#pragma once
// How a connection moves bytes: straight over its socket (PlainTransport) or through TLS
// (TlsTransport). Connection and the watch log read and write through this and never learn
// which one they have; sessions and parsers see only plaintext buffers. Modelled on Redis's
// ConnectionType: a small table of operations per kind of connection.
//
// A transport owns its socket and closes it when destroyed. It is used by one thread at a time
// (its worker, or the watch log after a hand-over). The calls are made once per read or write
// batch, never per byte or per request.
#include <sys/types.h>

#include <cstddef>
#include <cstdint>

namespace cachet::net {

class Transport {
 public:
  virtual ~Transport() = default;
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  int fd() const { return fd_; }

  // Reads up to `len` plaintext bytes into `dst`: the count read, 0 when nothing can be read
  // now (try again on readiness), or -1 when the peer closed or the connection failed.
  virtual ssize_t Read(char* dst, size_t len) = 0;
  // Writes up to `len` plaintext bytes: the count taken (possibly fewer than `len`), 0 when
  // nothing can be written now, -1 on a failed connection. After 0, call again with at least
  // the same bytes (a TLS record may be half sent).
  virtual ssize_t Write(const char* src, size_t len) = 0;

  // The epoll events to wait for, given the events the caller wants (EPOLLIN to read, EPOLLOUT
  // to write). TLS may need the other direction: a handshake step that must write, or a write
  // that must first read.
  virtual uint32_t Interest(uint32_t wanted) const { return wanted; }
  // The caller's readiness from the socket's: what `events` allow it to try. Also reports
  // EPOLLIN while plaintext is buffered inside the transport, where epoll cannot see it.
  virtual uint32_t Ready(uint32_t events) const { return events; }
  // Plaintext already received and buffered inside the transport: the caller must read again
  // without waiting for an event.
  virtual bool HasBuffered() const { return false; }

 protected:
  explicit Transport(int fd) : fd_(fd) {}
  const int fd_;
};

// The socket itself: recv and send, nothing else.
class PlainTransport final : public Transport {
 public:
  explicit PlainTransport(int fd) : Transport(fd) {}
  ~PlainTransport() override;
  ssize_t Read(char* dst, size_t len) override;
  ssize_t Write(const char* src, size_t len) override;
};

}  // namespace cachet::net
