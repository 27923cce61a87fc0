#pragma once
// The opt-in Prometheus endpoint (-o metrics_port=N[,metrics_addr=IP], loopback by default): a
// small HTTP/1.0 server on a thread of its own answering GET and HEAD /metrics. One poll loop
// serves up to kMaxClients connections at once, one request each, within kRequestTime from
// accept and kMaxRequest bytes (431 past it), so slow or hostile clients can neither hold the
// endpoint nor grow it, and a stop is never kept waiting by them.
#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "server/server_context.h"

namespace cachet::net {

class MetricsServer {
 public:
  explicit MetricsServer(server::ServerContext& server) : server_(server) {}
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Binds the endpoint (port -1: any free port); false with a message if it cannot.
  bool Listen(const std::string& address, int port);
  int port() const { return port_; }
  void Start();

 private:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kMaxClients = 64;
  static constexpr size_t kMaxRequest = 8192;
  static constexpr std::chrono::milliseconds kRequestTime{2000};
  struct Client {
    int fd;
    Clock::time_point deadline;  // the whole exchange, from accept
    std::string in;
    std::string out;  // the response once the request is complete
    size_t sent;
  };

  void Run();
  // Reads or writes what `revents` allows; false when the connection is done.
  bool Step(Client& c, short revents);
  std::string Respond(const std::string& request) const;
  static std::string Response(const char* status, const std::string& body, bool head);

  server::ServerContext& server_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace cachet::net
