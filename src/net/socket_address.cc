#include "net/socket_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace cachet::net {

std::string SocketAddress(int fd, bool peer, bool udp, const std::string& unix_path) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  auto* sa = reinterpret_cast<sockaddr*>(&ss);
  const int rc = peer ? ::getpeername(fd, sa, &len) : ::getsockname(fd, sa, &len);
  if (rc != 0 || ss.ss_family == AF_UNIX) return "unix:" + unix_path;
  char host[INET6_ADDRSTRLEN] = {};
  const std::string proto = udp ? "udp" : "tcp";
  if (ss.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
    return proto + "6:[" + host + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  const auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
  ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
  return proto + ":" + host + ":" + std::to_string(ntohs(in->sin_port));
}

}  // namespace cachet::net
