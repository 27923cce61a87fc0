#include "net/worker.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "net/socket_address.h"
#include "net/tls_transport.h"
#include "server/watch_events.h"

namespace cachet::net {

Worker::Worker(server::ServerContext& server, server::WorkerContext& context, WatchLog& watch,
               TlsContext* tls)
    : server_(server), context_(context), watch_(watch), tls_(tls), udp_(server, context) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0) {
    std::perror("cachet: cannot create the event loop");
    std::abort();  // environment failure at startup
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // nullptr marks the wake-up fd
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  context_.waker = this;
}

Worker::~Worker() {
  Stop();
  context_.waker = nullptr;
  ::close(epoll_fd_);
  ::close(wake_fd_);
}

void Worker::AddUdp(int fd) {
  udp_sockets_.push_back(std::make_unique<UdpSocket>(UdpSocket{fd}));
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLEXCLUSIVE;  // one worker wakes per datagram burst
  ev.data.ptr = udp_sockets_.back().get();
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
}

void Worker::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Worker::Hand(int fd, const std::string* listen_addr, bool tls) {
  {
    common::MutexLock lock(pending_mu_);
    pending_.push_back({fd, listen_addr, tls});
  }
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
}

void Worker::Wake() {
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
}

void Worker::NoteAfterDrive(Connection* c) {
  if (c->yielded()) yielded_.push_back(c);
  if (c->waiting() && std::find(waiting_.begin(), waiting_.end(), c) == waiting_.end()) {
    waiting_.push_back(c);
  }
}

void Worker::DriveWaiting() {
  std::vector<Connection*> waiting;
  waiting.swap(waiting_);
  for (Connection* c : waiting) {
    if (connections_.find(c) == connections_.end()) continue;  // closed meanwhile
    if (!c->OnEvent(0)) {
      Close(c);
      continue;
    }
    UpdateInterest(c, interest_[c]);
    NoteAfterDrive(c);
  }
}

void Worker::Stop() {
  if (!thread_.joinable()) return;
  stopping_.store(true);
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
  thread_.join();
}

void Worker::AdoptPending() {
  std::vector<Handed> fds;
  {
    common::MutexLock lock(pending_mu_);
    fds.swap(pending_);
  }
  for (const auto& [fd, listen_addr, tls] : fds) {
    std::unique_ptr<Transport> transport;
    if (tls) {
      SSL* ssl = tls_->NewSsl();
      if (ssl == nullptr) {  // OpenSSL out of memory: refuse this client, as memcached does
        ::close(fd);
        server_.connections().current.fetch_sub(1);
        continue;
      }
      transport = std::make_unique<TlsTransport>(fd, ssl, context_.stats);
    } else {
      transport = std::make_unique<PlainTransport>(fd);
    }
    const bool unix_socket = listen_addr->starts_with("unix:");
    server::ConnInfo* info =
        server_.registry().Add(fd, unix_socket ? *listen_addr : SocketAddress(fd, true, false, ""),
                               *listen_addr, server::ConnState::kNewCmd, server_.time().Now());
    server::WatchConnection(server_, true, fd, info->addr);
    if (server_.verbosity() >= 2) {
      const server::Protocol p = server_.settings().protocol;
      std::fprintf(stderr,
                   p == server::Protocol::kAuto    ? "<%d new auto-negotiating client connection\n"
                   : p == server::Protocol::kAscii ? "<%d new ascii client connection.\n"
                                                   : "<%d new binary client connection.\n",
                   fd);
    }
    auto conn = std::make_unique<Connection>(std::move(transport), server_, context_, info, this);
    Connection* c = conn.get();
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = c;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      server_.connections().current.fetch_sub(1);
      continue;  // the unique_ptr closes it
    }
    interest_[c] = EPOLLIN;
    connections_.emplace(c, std::move(conn));
  }
}

void Worker::Close(Connection* c) {
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd(), nullptr);
  interest_.erase(c);
  const bool released = c->released();
  if (released) c->HandOverToWatch(watch_);
  if (!released) {
    server::WatchConnection(server_, false, c->fd(), c->address(),
                            c->closed_out_of_memory() ? "out_of_memory"
                            : c->closed_on_error()    ? "error"
                                                      : "normal");
    if (server_.verbosity() >= 2) std::fprintf(stderr, "<%d connection closed.\n", c->fd());
  }
  connections_.erase(c);
  if (!released) server_.connections().current.fetch_sub(1);
}

bool Worker::Reclaim(size_t need, const server::BufferCharge& requester) {
  Connection* worst = nullptr;
  for (const auto& entry : connections_) {
    const server::BufferCharge& charge = entry.first->charge();
    if (&charge == &requester || charge.doomed()) continue;
    if (worst == nullptr || charge.input_charged() > worst->charge().input_charged()) {
      worst = entry.first;
    }
  }
  // What it gives back is its whole charge.
  if (worst == nullptr || worst->charge().input_charged() == 0 ||
      worst->charge().charged() < need) {
    return false;
  }
  // Its buffers are freed when CloseDoomed runs, at the end of this loop turn: until then at
  // most kMaxDoomedBytes of them may be promised to others, or RSS would pass the budget.
  if (doomed_bytes_ + worst->charge().charged() > kMaxDoomedBytes && !doomed_.empty()) {
    return false;
  }
  doomed_bytes_ += worst->charge().charged();
  worst->Doom();
  doomed_.push_back(worst);
  return true;
}

void Worker::CloseDoomed() {
  std::vector<Connection*> doomed;
  doomed.swap(doomed_);
  doomed_bytes_ = 0;
  for (Connection* c : doomed) {
    if (connections_.find(c) == connections_.end()) continue;  // closed meanwhile
    c->OnEvent(0);  // sends what it can of the error, and says to close
    Close(c);
  }
}

void Worker::UpdateInterest(Connection* c, uint32_t current) {
  const uint32_t wanted = c->WantedEvents();
  if (wanted == current) return;
  epoll_event ev{};
  ev.events = wanted;
  ev.data.ptr = c;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c->fd(), &ev);
  interest_[c] = wanted;
}

void Worker::CloseIdle() {
  const uint32_t now = server_.time().Now();
  if (now == last_idle_check_) return;  // once a second is enough
  last_idle_check_ = now;
  const uint32_t limit = static_cast<uint32_t>(server_.settings().idle_timeout);
  std::vector<Connection*> idle;
  for (const auto& [c, conn] : connections_) {
    // Like memcached, only a connection waiting for a command is idle (not one still writing
    // a large reply or waiting for a data block).
    if (c->waiting_for_command() && now > c->last_active() && now - c->last_active() > limit) {
      idle.push_back(c);
    }
  }
  for (Connection* c : idle) {
    if (server_.verbosity() > 1) std::fprintf(stderr, "Closing idle fd %d\n", c->fd());
    context_.stats.idle_kicks.Add();
    Close(c);
  }
}

void Worker::Run() {
  constexpr int kMaxEvents = 128;
  epoll_event events[kMaxEvents];
  const int idle_timeout = server_.settings().idle_timeout;
  std::vector<Connection*> again;
  while (!stopping_.load()) {
    // Yielded connections still have buffered requests: look for events without sleeping.
    const int wait_ms = !yielded_.empty() ? 0 : idle_timeout > 0 ? 1000 : -1;
    const int n = ::epoll_wait(epoll_fd_, events, kMaxEvents, wait_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::perror("epoll_wait");
      break;
    }
    for (int i = 0; i < n; ++i) {
      if (UdpSocket* u = FindUdp(events[i].data.ptr)) {
        udp_.OnReadable(u->fd);
        continue;
      }
      auto* c = static_cast<Connection*>(events[i].data.ptr);
      if (c == nullptr) {
        uint64_t v;
        [[maybe_unused]] ssize_t r = ::read(wake_fd_, &v, sizeof(v));
        AdoptPending();
        DriveWaiting();
        continue;
      }
      if (connections_.find(c) == connections_.end()) continue;  // closed earlier in this batch
      if (!c->OnEvent(events[i].events)) {
        Close(c);
        continue;
      }
      UpdateInterest(c, interest_[c]);
      NoteAfterDrive(c);
    }
    again.swap(yielded_);
    yielded_.clear();
    for (Connection* c : again) {
      if (connections_.find(c) == connections_.end()) continue;  // closed meanwhile
      if (!c->OnEvent(0)) {
        Close(c);
        continue;
      }
      UpdateInterest(c, interest_[c]);
      NoteAfterDrive(c);
    }
    again.clear();
    CloseDoomed();
    if (idle_timeout > 0) CloseIdle();
  }
  while (!connections_.empty()) Close(connections_.begin()->first);
}

}  // namespace cachet::net
