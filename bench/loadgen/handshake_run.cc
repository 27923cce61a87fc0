#include "loadgen/handshake_run.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string_view>

#include "loadgen/load_run.h"

namespace cachet::bench {
namespace {

double NowS() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::string TlsError(const char* what) {
  char err[256] = "";
  if (const unsigned long e = ERR_get_error(); e != 0) ERR_error_string_n(e, err, sizeof(err));
  return std::string(what) + ": " + err;
}

// One connection: connect, handshake, `version`, close. Empty on success.
std::string OneHandshake(const addrinfo* ai, SSL_CTX* ctx) {
  const int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
    if (fd >= 0) close(fd);
    return std::string("connect: ") + std::strerror(errno);
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  std::string error;
  constexpr std::string_view kVersion = "version\r\n";
  if (SSL_connect(ssl) != 1) {
    error = TlsError("handshake");
  } else if (SSL_write(ssl, kVersion.data(), kVersion.size()) != kVersion.size()) {
    error = TlsError("write");
  } else {
    char reply[64];
    size_t got = 0;
    while (got < sizeof(reply) && std::string_view(reply, got).find('\n') == std::string::npos) {
      const int n = SSL_read(ssl, reply + got, static_cast<int>(sizeof(reply) - got));
      if (n <= 0) {
        error = TlsError("read");
        break;
      }
      got += static_cast<size_t>(n);
    }
    if (error.empty() && !std::string_view(reply, got).starts_with("VERSION ")) {
      error = "unexpected reply to version";
    }
    if (error.empty()) SSL_shutdown(ssl);  // close_notify, as a well-behaved client sends
  }
  SSL_free(ssl);
  close(fd);
  ERR_clear_error();
  return error;
}

}  // namespace

bool RunHandshakes(const LoadConfig& c, HandshakeResult* r) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(c.port);
  if (getaddrinfo(c.host.c_str(), port.c_str(), &hints, &res) != 0 || res == nullptr) {
    r->fatal = "cannot resolve " + c.host;
    return false;
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, freeaddrinfo);
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(NewClientTlsContext(), SSL_CTX_free);
  const double start = NowS();
  for (uint64_t i = 0; i < c.handshakes; ++i) {
    r->fatal = OneHandshake(res, ctx.get());
    if (!r->fatal.empty()) break;
    ++r->done;
  }
  r->seconds = NowS() - start;
  return r->done > 0;
}

}  // namespace cachet::bench
