#pragma once
// TLS over an accepted socket (-Z listeners): OpenSSL's SSL on a socket BIO, server side. The
// handshake runs inside the first reads; plaintext goes straight between OpenSSL and the
// connection's buffers (no copy of ours on either side). Failed handshakes count in
// `stats` ssl_handshake_errors.
#include <openssl/types.h>

#include "net/transport.h"
#include "server/thread_stats.h"

namespace cachet::net {

class TlsTransport final : public Transport {
 public:
  // Takes ownership of `fd` and of `ssl` (from TlsContext::NewSsl).
  TlsTransport(int fd, SSL* ssl, server::ThreadStats& stats);
  // The transport of an SSL (for OpenSSL callbacks), nullptr before it was attached.
  static TlsTransport* Of(const SSL* ssl);
  server::ThreadStats& stats() { return stats_; }
  // Sends close_notify when the session is healthy (without waiting for the peer's), then
  // frees the SSL and closes the socket.
  ~TlsTransport() override;

  ssize_t Read(char* dst, size_t len) override;
  ssize_t Write(const char* src, size_t len) override;
  uint32_t Interest(uint32_t wanted) const override;
  uint32_t Ready(uint32_t events) const override;
  bool HasBuffered() const override;

 private:
  // After SSL_read/SSL_write returned `ret` <= 0: 0 to retry on readiness, -1 when done.
  ssize_t Failed(int ret, bool reading);

  // OpenSSL's info and new-session callbacks find the transport through the SSL's app data.
  static void OnInfo(const SSL* ssl, int where, int ret);

  SSL* const ssl_;
  server::ThreadStats& stats_;
  // The handshake completed (OpenSSL forgets it after a fatal error, so it is kept here).
  bool established_ = false;
  bool read_wants_write_ = false;  // a handshake step of a read must write first
  bool write_wants_read_ = false;  // a write must read a TLS message first
  bool failed_ = false;            // a fatal error: no close_notify, no more I/O
};

}  // namespace cachet::net
