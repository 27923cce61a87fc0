#pragma once
// The opt-in Prometheus endpoint (-o metrics_port=N[,metrics_addr=IP], loopback by default): a
// small HTTP/1.0 server on a thread of its own answering GET /metrics. One request per
// connection, bounded request size and time, so a bad scraper cannot hold it or grow it.
#include <atomic>
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
  void Run();
  void Serve(int fd);

  server::ServerContext& server_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace cachet::net
