#pragma once
// The network front: listening sockets, an acceptor loop on the calling thread, and the worker
// threads it hands connections to round-robin. Enforces -c like memcached: a connection over the
// limit is told "ERROR Too many open connections" and closed.
#include <memory>
#include <vector>

#include "common/function_ref.h"
#include "net/listener.h"
#include "net/tls_context.h"
#include "net/watch_log.h"
#include "net/worker.h"
#include "server/server_context.h"

namespace cachet::net {

class NetServer {
 public:
  // `tls`: the TLS context for -Z listeners (nullptr without -Z); it must outlive the server.
  NetServer(server::ServerContext& server, TlsContext* tls);
  ~NetServer();

  // Binds every listener; false (with a message on stderr) if one fails.
  bool Listen();
  const std::vector<ListenSocket>& listeners() const { return listeners_; }

  // Starts the workers and accepts until a signal read from `signal_fd` (a signalfd) makes
  // `on_signal(signo)` return true (stop); other signals (SIGHUP) are handled and it goes on.
  void Run(int signal_fd, common::FunctionRef<bool(uint32_t signo)> on_signal);

 private:
  void Accept(const ListenSocket& listener);
  // Out of descriptors: accept with the reserve one to refuse the client instead of leaving the
  // listener ready forever (a busy loop) and the client hanging.
  void RefuseWithReserveFd(int listen_fd);
  void Refuse(int fd);

  server::ServerContext& server_;
  std::vector<ListenSocket> listeners_;
  WatchLog watch_;  // before workers_: they hand it sockets, so it must outlive them
  std::vector<std::unique_ptr<Worker>> workers_;
  size_t next_worker_ = 0;
  int reserve_fd_ = -1;
  std::vector<server::ConnInfo*> registry_entries_;  // the listeners' `stats conns` entries
  std::vector<int> udp_dups_;                        // per-worker descriptors of UDP sockets
};

}  // namespace cachet::net
