#include "net/transport.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace cachet::net {

PlainTransport::~PlainTransport() { ::close(fd_); }

ssize_t PlainTransport::Read(char* dst, size_t len) {
  const ssize_t n = ::recv(fd_, dst, len, 0);
  if (n > 0) return n;
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return 0;
  return -1;
}

ssize_t PlainTransport::Write(const char* src, size_t len) {
  while (true) {
    const ssize_t n = ::send(fd_, src, len, MSG_NOSIGNAL);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    return -1;
  }
}

}  // namespace cachet::net
