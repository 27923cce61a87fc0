#include "net/net_server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "protocol/text_reply.h"

namespace cachet::net {

NetServer::NetServer(server::ServerContext& server, TlsContext* tls)
    : server_(server),
      watch_(server.registry(), server.connections().current, server.settings().watcher_logbuf_size,
             server.settings().worker_logbuf_size) {
  server.set_watch_sink(&watch_);
  server.set_certificates(tls);
  reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  for (int i = 0; i < server.settings().threads; ++i) {
    workers_.push_back(std::make_unique<Worker>(server, server.AddWorker(), watch_, tls));
  }
}

NetServer::~NetServer() {
  for (auto& w : workers_) w->Stop();
  server_.set_watch_sink(nullptr);
  server_.set_certificates(nullptr);
  for (auto& l : listeners_) ::close(l.fd);
  for (int fd : udp_dups_) ::close(fd);
  if (reserve_fd_ >= 0) ::close(reserve_fd_);
}

bool NetServer::Listen() { return OpenListeners(server_.settings(), &listeners_); }

void NetServer::Run(int signal_fd, common::FunctionRef<bool(uint32_t signo)> on_signal) {
  const int stop_fd = signal_fd;
  for (const auto& l : listeners_) {
    if (l.udp) {
      // Like memcached, each worker reads the socket through a descriptor of its own, and
      // `stats conns` lists each as a UDP "connection".
      for (size_t i = 0; i < workers_.size(); ++i) {
        const int fd = i == 0 ? l.fd : ::fcntl(l.fd, F_DUPFD_CLOEXEC, 0);
        if (fd < 0) continue;
        if (i != 0) udp_dups_.push_back(fd);
        workers_[i]->AddUdp(fd);
        server::ConnInfo* info = server_.registry().Add(fd, l.address, "", server::ConnState::kRead,
                                                        server_.time().Now());
        info->udp = true;
        registry_entries_.push_back(info);
        server_.connections().current.fetch_add(1);
        server_.connections().total.fetch_add(1);
      }
      continue;
    }
    if (server_.verbosity() >= 2) {
      const server::Protocol p = server_.settings().protocol;
      std::fprintf(stderr, "<%d server listening (%s)\n", l.fd,
                   p == server::Protocol::kAuto    ? "auto-negotiate"
                   : p == server::Protocol::kAscii ? "ascii"
                                                   : "binary");
    }
    registry_entries_.push_back(server_.registry().Add(
        l.fd, l.address, "", server::ConnState::kListening, server_.time().Now()));
  }
  for (auto& w : workers_) w->Start();  // after AddUdp: a worker's epoll set is its own then
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = stop_fd;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, stop_fd, &ev);
  for (const auto& l : listeners_) {
    if (l.udp) continue;  // the workers read UDP sockets themselves
    ev.data.fd = l.fd;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, l.fd, &ev);
  }
  bool running = true;
  epoll_event events[16];
  while (running) {
    const int n = ::epoll_wait(ep, events, 16, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::perror("epoll_wait");
      break;
    }
    for (int i = 0; i < n; ++i) {
      if (events[i].data.fd == stop_fd) {
        signalfd_siginfo info{};
        while (::read(stop_fd, &info, sizeof(info)) == sizeof(info)) {
          if (on_signal(info.ssi_signo)) running = false;
        }
      } else {
        for (const auto& l : listeners_) {
          if (l.fd == events[i].data.fd) Accept(l);
        }
      }
    }
  }
  ::close(ep);
  for (auto& w : workers_) w->Stop();
  for (server::ConnInfo* info : registry_entries_) server_.registry().Remove(info);
  registry_entries_.clear();
}

void NetServer::Accept(const ListenSocket& listener) {
  const int listen_fd = listener.fd;
  for (int i = 0; i < 64; ++i) {
    const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED) {
        return;
      }
      if (errno == EMFILE || errno == ENFILE) {
        RefuseWithReserveFd(listen_fd);
        continue;
      }
      std::perror("accept()");
      return;
    }
    server::ConnectionCounters& conns = server_.connections();
    if (conns.current.load() >= server_.settings().max_connections) {
      Refuse(fd);
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));  // fails harmlessly on Unix
    if (const uint32_t kib = server_.settings().conn_sndbuf_kib;
        kib != 0 && !listener.address.starts_with("unix:")) {
      const int bytes = static_cast<int>(kib * 1024);
      ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes));
    }
    conns.current.fetch_add(1);
    conns.total.fetch_add(1);
    workers_[next_worker_]->Hand(fd, &listener.address, listener.tls);
    next_worker_ = (next_worker_ + 1) % workers_.size();
  }
}

void NetServer::Refuse(int fd) {
  const std::string_view msg = protocol::kTooManyConnections;
  [[maybe_unused]] ssize_t w = ::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL);
  ::close(fd);
  server_.connections().rejected.fetch_add(1);
}

void NetServer::RefuseWithReserveFd(int listen_fd) {
  if (reserve_fd_ >= 0) {
    ::close(reserve_fd_);
    reserve_fd_ = -1;
  }
  const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd >= 0) Refuse(fd);
  reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

}  // namespace cachet::net
