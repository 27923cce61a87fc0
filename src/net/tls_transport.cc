#include "net/tls_transport.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <climits>

namespace cachet::net {

TlsTransport::TlsTransport(int fd, SSL* ssl, server::ThreadStats& stats)
    : Transport(fd), ssl_(ssl), stats_(stats) {
  SSL_set_app_data(ssl_, this);
  SSL_set_info_callback(ssl_, OnInfo);
  SSL_set_fd(ssl_, fd);
  SSL_set_accept_state(ssl_);
}

TlsTransport* TlsTransport::Of(const SSL* ssl) {
  return static_cast<TlsTransport*>(SSL_get_app_data(ssl));
}

void TlsTransport::OnInfo(const SSL* ssl, int where, int) {
  if (where & SSL_CB_HANDSHAKE_DONE) {
    if (TlsTransport* t = Of(ssl)) t->established_ = true;
  }
}

TlsTransport::~TlsTransport() {
  if (!failed_ && established_) SSL_shutdown(ssl_);
  SSL_free(ssl_);
  ERR_clear_error();  // the queue is the thread's: leave it clean for the next connection
  ::close(fd_);
}

ssize_t TlsTransport::Read(char* dst, size_t len) {
  if (failed_) return -1;
  read_wants_write_ = false;
  const int n = SSL_read(ssl_, dst, static_cast<int>(std::min<size_t>(len, INT_MAX)));
  return n > 0 ? n : Failed(n, true);
}

ssize_t TlsTransport::Write(const char* src, size_t len) {
  if (failed_) return -1;
  write_wants_read_ = false;
  const int n = SSL_write(ssl_, src, static_cast<int>(std::min<size_t>(len, INT_MAX)));
  return n > 0 ? n : Failed(n, false);
}

ssize_t TlsTransport::Failed(int ret, bool reading) {
  switch (SSL_get_error(ssl_, ret)) {
    case SSL_ERROR_WANT_READ:
      if (!reading) write_wants_read_ = true;
      return 0;
    case SSL_ERROR_WANT_WRITE:
      if (reading) read_wants_write_ = true;
      return 0;
    case SSL_ERROR_ZERO_RETURN:  // the peer's close_notify: a clean end
      break;
    default:  // a protocol error, a refused certificate, a reset or an EOF without close_notify
      failed_ = true;
      break;
  }
  if (!established_) {
    stats_.ssl_handshake_errors.Add();
    failed_ = true;
  }
  ERR_clear_error();  // SSL_get_error reads the thread's queue: no stale entries for others
  return -1;
}

uint32_t TlsTransport::Interest(uint32_t wanted) const {
  uint32_t ev = wanted;
  if (read_wants_write_ && (wanted & EPOLLIN)) ev |= EPOLLOUT;
  if (write_wants_read_ && (wanted & EPOLLOUT)) ev |= EPOLLIN;
  return ev;
}

uint32_t TlsTransport::Ready(uint32_t events) const {
  uint32_t ready = events;
  if (read_wants_write_ && (events & EPOLLOUT)) ready |= EPOLLIN;
  if (write_wants_read_ && (events & EPOLLIN)) ready |= EPOLLOUT;
  if (!failed_ && SSL_has_pending(ssl_)) ready |= EPOLLIN;
  return ready;
}

bool TlsTransport::HasBuffered() const { return !failed_ && SSL_has_pending(ssl_) == 1; }

}  // namespace cachet::net
