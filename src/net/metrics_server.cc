#include "net/metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "server/prometheus_format.h"

namespace cachet::net {

MetricsServer::~MetricsServer() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(stop_fd_, &one, sizeof(one));
    thread_.join();
  }
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (stop_fd_ >= 0) ::close(stop_fd_);
}

bool MetricsServer::Listen(const std::string& address, int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port < 0 ? 0 : port));
  if (::inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1) {
    std::fprintf(stderr, "metrics: invalid address %s (IPv4 expected)\n", address.c_str());
    return false;
  }
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listen_fd_, 16) != 0) {
    std::fprintf(stderr, "metrics: failed to listen on %s:%d: %s\n", address.c_str(), port,
                 std::strerror(errno));
    return false;
  }
  socklen_t len = sizeof(addr);
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
  return stop_fd_ >= 0;
}

void MetricsServer::Start() {
  thread_ = std::thread([this] { Run(); });
}

void MetricsServer::Run() {
  std::vector<Client> clients;
  std::vector<pollfd> fds;
  while (true) {
    // The stop event and the listener first, then one entry per client.
    const bool accepting = clients.size() < kMaxClients;
    fds.assign({{stop_fd_, POLLIN, 0}, {accepting ? listen_fd_ : -1, POLLIN, 0}});
    const auto now = Clock::now();
    int timeout_ms = -1;
    for (const Client& c : clients) {
      fds.push_back({c.fd, static_cast<short>(c.out.empty() ? POLLIN : POLLOUT), 0});
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(c.deadline - now).count();
      const int ms = static_cast<int>(std::max<int64_t>(0, left) + 1);
      timeout_ms = timeout_ms < 0 ? ms : std::min(timeout_ms, ms);
    }
    if (::poll(fds.data(), fds.size(), timeout_ms) < 0 && errno != EINTR) break;
    if (fds[0].revents != 0) break;
    if (accepting && (fds[1].revents & POLLIN) != 0) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      // The deadline runs from accept: a client that drips its request gets no more time.
      if (fd >= 0) clients.push_back(Client{fd, Clock::now() + kRequestTime, {}, {}, 0});
    }
    const auto after = Clock::now();
    for (size_t i = 0; i < clients.size(); ++i) {
      const short revents =
          i + 2 < fds.size() && fds[i + 2].fd == clients[i].fd ? fds[i + 2].revents : 0;
      if (!Step(clients[i], revents) || after >= clients[i].deadline) {
        ::close(clients[i].fd);
        clients[i].fd = -1;
      }
    }
    std::erase_if(clients, [](const Client& c) { return c.fd < 0; });
  }
  for (const Client& c : clients) ::close(c.fd);
}

bool MetricsServer::Step(Client& c, short revents) {
  if (revents == 0) return true;
  if (c.out.empty()) {
    char buf[2048];
    const ssize_t n = ::recv(c.fd, buf, sizeof(buf), 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return false;
    if (n > 0) c.in.append(buf, static_cast<size_t>(n));
    if (c.in.find("\r\n\r\n") != std::string::npos || c.in.find("\n\n") != std::string::npos) {
      c.out = Respond(c.in);
    } else if (c.in.size() > kMaxRequest) {
      c.out = Response("431 Request Header Fields Too Large", "request too large\n", false);
    }
    return true;
  }
  const ssize_t n = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
  if (n < 0) return errno == EAGAIN || errno == EINTR;
  c.sent += static_cast<size_t>(n);
  return c.sent < c.out.size();  // all sent: close (one request per connection)
}

std::string MetricsServer::Respond(const std::string& request) const {
  const bool head = request.starts_with("HEAD ");
  if (!request.starts_with("GET ") && !head) {
    return Response("405 Method Not Allowed", "only GET /metrics\n", false);
  }
  const size_t path_start = request.find(' ') + 1;
  const std::string path = request.substr(path_start, request.find(' ', path_start) - path_start);
  if (path != "/metrics" && !path.starts_with("/metrics?")) {
    return Response("404 Not Found", "try /metrics\n", head);
  }
  return Response("200 OK", server::FormatPrometheus(server_), head);
}

std::string MetricsServer::Response(const char* status, const std::string& body, bool head) {
  std::string out = std::string("HTTP/1.0 ") + status +
                    "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                    "Content-Length: " +
                    std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  if (!head) out += body;
  return out;
}

}  // namespace cachet::net
