#pragma once
// A worker thread: one epoll loop that owns its connections. The acceptor hands new sockets over
// through a small locked queue and an eventfd; nothing else crosses threads.
#include <atomic>
#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/mutex.h"
#include "net/connection.h"
#include "net/tls_context.h"
#include "net/udp_handler.h"
#include "net/watch_log.h"
#include "server/server_context.h"
#include "server/waker.h"

namespace cachet::net {

// As the server's Waker, it wakes its own loop (through the eventfd new connections use), which
// then drives the connections that wait for another thread.
// As the connections' BufferReclaimer, it closes its connection that holds the most of an
// unfinished request when the budget has no room for a reply (buffer_charge.h).
class Worker final : public server::Waker, public server::BufferReclaimer {
 public:
  // `watch`: where connections that ask to watch are handed over; `tls`: the TLS context of
  // -Z listeners (nullptr without -Z).
  Worker(server::ServerContext& server, server::WorkerContext& context, WatchLog& watch,
         TlsContext* tls);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void Start();
  // Serves a UDP socket shared with the other workers; call before Start().
  void AddUdp(int fd);
  // Takes ownership of a new client socket (any thread); `listen_addr` (the listener's
  // address, for `stats conns`) must outlive the worker. `tls`: the listener speaks TLS.
  void Hand(int fd, const std::string* listen_addr, bool tls);
  // Asks the loop to close everything and exit, then joins it.
  void Stop();
  void Wake() override;
  bool Reclaim(size_t need, const server::BufferCharge& requester) override;

 private:
  void Run();
  void CloseIdle();  // -o idle_timeout

  void AdoptPending();
  void Close(Connection* c);
  void UpdateInterest(Connection* c, uint32_t current);
  // After driving `c`: remember it if it must be driven again (yielded, or waiting).
  void NoteAfterDrive(Connection* c);
  void DriveWaiting();
  void CloseDoomed();  // the connections Reclaim chose

  server::ServerContext& server_;
  server::WorkerContext& context_;
  WatchLog& watch_;
  TlsContext* const tls_;
  int epoll_fd_ = -1;
  UdpHandler udp_;
  // One entry per UDP socket (IPv4 and IPv6, several -l): its address is the epoll tag.
  struct UdpSocket {
    int fd;
  };
  std::vector<std::unique_ptr<UdpSocket>> udp_sockets_;
  UdpSocket* FindUdp(void* tag) const {
    for (const auto& u : udp_sockets_) {
      if (u.get() == tag) return u.get();
    }
    return nullptr;
  }
  std::vector<Connection*> yielded_;  // to drive again before sleeping (-R)
  std::vector<Connection*> waiting_;  // to drive again when woken
  std::vector<Connection*> doomed_;   // to close: their buffer memory went to another
  size_t doomed_bytes_ = 0;           // what they held
  static constexpr size_t kMaxDoomedBytes = 8 << 20;
  uint32_t last_idle_check_ = 0;
  int wake_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stopping_{false};

  common::Mutex pending_mu_;
  struct Handed {
    int fd;
    const std::string* listen_addr;
    bool tls;
  };
  std::vector<Handed> pending_ CACHET_GUARDED_BY(pending_mu_);

  // Owned by the worker thread only.
  std::unordered_map<Connection*, std::unique_ptr<Connection>> connections_;
  std::unordered_map<Connection*, uint32_t> interest_;
};

}  // namespace cachet::net
