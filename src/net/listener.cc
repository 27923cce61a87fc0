#include "net/listener.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "net/socket_address.h"

namespace cachet::net {
namespace {

std::string Describe(int fd, bool udp) {
  const std::string proto = udp ? "UDP" : "TCP";
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return proto + " INET: 0";
  if (ss.ss_family == AF_INET6) {
    return proto +
           " INET6: " + std::to_string(ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port));
  }
  return proto + " INET: " + std::to_string(ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port));
}

// TCP listeners, or UDP sockets when `udp`, on one -l address (all interfaces when empty).
bool OpenInet(const server::Settings& settings, const std::string& address, bool udp, bool tls,
              std::vector<ListenSocket>* out) {
  const int port_setting = udp ? settings.udp_port : settings.tcp_port;
  const char* proto = udp ? "UDP" : "TCP";
  std::string host = address;
  std::string port = std::to_string(port_setting < 0 ? 0 : port_setting);
  // memcached accepts "host:port" in -l; an IPv6 literal may be bracketed.
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    if (close != std::string::npos) {
      if (close + 1 < host.size() && host[close + 1] == ':') port = host.substr(close + 2);
      host = host.substr(1, close - 1);
    }
  } else if (std::count(host.begin(), host.end(), ':') == 1) {
    if (!udp) port = host.substr(host.find(':') + 1);
    host = host.substr(0, host.find(':'));
  }
  addrinfo hints{};
  hints.ai_flags = AI_PASSIVE;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = udp ? SOCK_DGRAM : SOCK_STREAM;
  addrinfo* res = nullptr;
  const int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) {
    std::fprintf(stderr, "getaddrinfo(): %s\n", ::gai_strerror(rc));
    return false;
  }
  bool any = false;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ai->ai_family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      if (errno == EADDRINUSE) {
        std::fprintf(stderr, "failed to listen on one of interface(s) %s: %s\n",
                     address.empty() ? "*" : address.c_str(), std::strerror(errno));
        ::close(fd);
        ::freeaddrinfo(res);
        return false;
      }
      ::close(fd);
      continue;
    }
    if (!udp && ::listen(fd, settings.backlog) != 0) {
      std::perror("listen()");
      ::close(fd);
      continue;
    }
    out->push_back({fd, Describe(fd, udp), SocketAddress(fd, false, udp, ""), udp, tls && !udp});
    any = true;
  }
  ::freeaddrinfo(res);
  if (!any)
    std::fprintf(stderr, "failed to listen on %s port %s: %s\n", proto, port.c_str(),
                 std::strerror(errno));
  return any;
}

bool OpenUnix(const server::Settings& settings, std::vector<ListenSocket>* out) {
  const std::string& path = settings.unix_socket;
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) {
    std::fprintf(stderr, "failed to listen on UNIX socket \"%s\": path too long\n", path.c_str());
    return false;
  }
  // Like memcached: a stale socket file from an earlier run is replaced.
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(path.c_str());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    std::perror("socket()");
    return false;
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const mode_t old_umask = ::umask(~(settings.unix_mask & 0777));
  const int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::umask(old_umask);
  if (rc != 0 || ::listen(fd, settings.backlog) != 0) {
    std::fprintf(stderr, "failed to listen on UNIX socket \"%s\": %s\n", path.c_str(),
                 std::strerror(errno));
    ::close(fd);
    return false;
  }
  out->push_back({fd, "UNIX " + path, "unix:" + path});
  return true;
}

}  // namespace

bool OpenListeners(const server::Settings& settings, std::vector<ListenSocket>* out) {
  if (!settings.unix_socket.empty()) return OpenUnix(settings, out);
  std::vector<std::string> addresses = settings.listen_addresses;
  if (addresses.empty()) addresses.push_back("");
  // memcached: -p 0 turns TCP off, -U 0 (the default) UDP.
  for (const bool udp : {false, true}) {
    if ((udp ? settings.udp_port : settings.tcp_port) == 0) continue;
    for (std::string address : addresses) {
      bool tls = settings.tls.enabled;
      // memcached matches the five letters and skips one more (the colon).
      if (address.starts_with("notls")) {
        if (!settings.tls.enabled) {
          std::string all;
          for (const std::string& a : settings.listen_addresses)
            all += (all.empty() ? "" : ",") + a;
          // memcached's second line reports errno, which nothing set.
          std::fprintf(stderr,
                       "'notls' option is valid only when SSL is enabled\n"
                       "failed to listen on one of interface(s) %s: Success\n",
                       all.c_str());
          return false;
        }
        tls = false;
        address.erase(0, std::min<size_t>(address.size(), 6));
      }
      if (!OpenInet(settings, address, udp, tls, out)) return false;
    }
  }
  return true;
}

bool WritePortFile(const std::string& path, const std::vector<ListenSocket>& listeners,
                   int metrics_port) {
  const std::string tmp = path + ".lck";
  FILE* f = std::fopen(tmp.c_str(), "a");
  if (f == nullptr) {
    std::perror("cannot write the port file");
    return false;
  }
  for (const char* proto : {"TCP", "UDP"}) {
    for (const ListenSocket& l : listeners) {
      if (l.description.rfind(proto, 0) == 0) std::fprintf(f, "%s\n", l.description.c_str());
    }
  }
  if (metrics_port != 0) std::fprintf(f, "METRICS INET: %d\n", metrics_port);
  std::fclose(f);
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace cachet::net
