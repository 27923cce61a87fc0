#include "net/watch_log.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace cachet::net {

using server::ConnectionRegistry;
using server::ConnInfo;
using server::ConnState;

WatchLog::WatchLog(ConnectionRegistry& registry, std::atomic<int64_t>& current_connections,
                   size_t buffer_limit)
    : registry_(registry),
      current_connections_(current_connections),
      buffer_limit_(buffer_limit == 0 ? 256 * 1024 : buffer_limit) {
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

WatchLog::~WatchLog() {
  stopping_.store(true);
  Wake();
  if (thread_.joinable()) thread_.join();
  common::MutexLock lock(mu_);
  while (!watchers_.empty()) RemoveLocked(watchers_.size() - 1);
  ::close(wake_fd_);
}

void WatchLog::Wake() {
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
}

void WatchLog::RecomputeKindsLocked() {
  uint32_t kinds = 0;
  for (const Watcher& w : watchers_) kinds |= w.kinds;
  set_kinds(kinds);
  watcher_count_.store(watchers_.size(), std::memory_order_relaxed);
}

void WatchLog::RemoveLocked(size_t i) {
  registry_.Remove(watchers_[i].info);
  watchers_[i].transport.reset();  // closes the socket
  current_connections_.fetch_sub(1);
  watchers_.erase(watchers_.begin() + static_cast<std::ptrdiff_t>(i));
  RecomputeKindsLocked();
}

void WatchLog::AddWatcher(std::unique_ptr<Transport> transport, uint32_t kinds, ConnInfo* info,
                          std::string pending) {
  info->Set(ConnState::kWatch);
  common::MutexLock lock(mu_);
  watchers_.push_back(Watcher{std::move(transport), kinds, info, std::move(pending)});
  RecomputeKindsLocked();
  if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
  Wake();
}

void WatchLog::Emit(uint32_t kind, std::string_view body) {
  timeval tv{};
  ::gettimeofday(&tv, nullptr);
  char head[64];
  // memcached prints the microseconds without zero padding.
  const int n = std::snprintf(head, sizeof(head), "ts=%ld.%ld gid=%llu ",
                              static_cast<long>(tv.tv_sec), static_cast<long>(tv.tv_usec),
                              static_cast<unsigned long long>(gid_.fetch_add(1) + 1));
  {
    common::MutexLock lock(mu_);
    for (Watcher& w : watchers_) {
      if ((w.kinds & kind) == 0) continue;
      if (w.pending.size() + static_cast<size_t>(n) + body.size() + 1 > buffer_limit_) {
        ++w.skipped;
        skipped_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      if (w.skipped != 0) {
        w.pending += "skipped=" + std::to_string(w.skipped) + "\n";
        w.skipped = 0;
      }
      w.pending.append(head, static_cast<size_t>(n));
      w.pending.append(body);
      w.pending.push_back('\n');
      sent_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  Wake();
}

void WatchLog::Run() {
  std::vector<pollfd> fds;
  while (!stopping_.load()) {
    fds.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    {
      common::MutexLock lock(mu_);
      for (const Watcher& w : watchers_) {
        // poll's POLLIN/POLLOUT are epoll's EPOLLIN/EPOLLOUT bits, which transports speak.
        const uint32_t wanted = POLLIN | (w.pending.empty() ? 0 : POLLOUT);
        fds.push_back(
            {w.transport->fd(), static_cast<short>(w.transport->Interest(wanted) | POLLRDHUP), 0});
      }
    }
    if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) return;
    if (fds[0].revents & POLLIN) {
      uint64_t v;
      [[maybe_unused]] ssize_t r = ::read(wake_fd_, &v, sizeof(v));
    }
    common::MutexLock lock(mu_);
    // Watchers only join at the end, so the polled ones are still in this order.
    for (size_t i = fds.size() - 1; i >= 1; --i) {
      const size_t wi = i - 1;
      if (wi >= watchers_.size() || watchers_[wi].transport->fd() != fds[i].fd) continue;
      Watcher& w = watchers_[wi];
      const uint32_t ready = w.transport->Ready(static_cast<uint16_t>(fds[i].revents));
      bool gone = (fds[i].revents & (POLLHUP | POLLERR | POLLRDHUP)) != 0;
      if (!gone && (ready & POLLIN)) {
        char sink[4096];  // memcached ignores what a watcher sends
        gone = w.transport->Read(sink, sizeof(sink)) < 0;
      }
      while (!gone && !w.pending.empty()) {
        const ssize_t sent = w.transport->Write(w.pending.data(), w.pending.size());
        if (sent > 0) {
          w.pending.erase(0, static_cast<size_t>(sent));
        } else {
          gone = sent < 0;
          break;
        }
      }
      if (gone) RemoveLocked(wi);
    }
  }
}

}  // namespace cachet::net
