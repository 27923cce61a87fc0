#include "net/watch_log.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>

#include "common/numbers.h"

namespace cachet::net {

using server::ConnectionRegistry;
using server::ConnInfo;
using server::ConnState;

WatchLog::WatchLog(ConnectionRegistry& registry, std::atomic<int64_t>& current_connections,
                   size_t buffer_limit, size_t stripe_limit)
    : registry_(registry),
      current_connections_(current_connections),
      buffer_limit_(buffer_limit == 0 ? 256 * 1024 : buffer_limit),
      stripe_limit_(stripe_limit == 0 ? 64 * 1024 : stripe_limit) {
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

namespace {
struct RecordHead {
  uint32_t kind;
  uint32_t len;
  int64_t sec;
  int64_t usec;
};
}  // namespace

void WatchLog::Emit(uint32_t kind, std::string_view body) {
  timeval tv{};
  ::gettimeofday(&tv, nullptr);
  const RecordHead head{kind, static_cast<uint32_t>(body.size()), tv.tv_sec, tv.tv_usec};
  // A stripe per thread (mostly): the workers do not contend.
  Stripe& stripe = stripes_[std::hash<std::thread::id>{}(std::this_thread::get_id()) % kStripes];
  {
    common::MutexLock lock(stripe.mu);
    if (stripe.records.size() + sizeof(head) + body.size() > stripe_limit_) {
      ++stripe.dropped;
    } else {
      stripe.records.append(reinterpret_cast<const char*>(&head), sizeof(head));
      stripe.records.append(body);
    }
  }
  // A read first: while the flag is set the cache line stays shared, no write bounces it.
  if (!wake_pending_.load(std::memory_order_relaxed) &&
      !wake_pending_.exchange(true, std::memory_order_acq_rel)) {
    Wake();
  }
}

void WatchLog::Deliver(uint32_t kind, std::string_view line, uint64_t* sent, uint64_t* skipped) {
  for (Watcher& w : watchers_) {
    if ((w.kinds & kind) == 0) continue;
    if (w.pending.size() + line.size() > buffer_limit_) {
      ++w.skipped;
      ++*skipped;
      continue;
    }
    if (w.skipped != 0) {
      w.pending += "skipped=" + std::to_string(w.skipped) + "\n";
      w.skipped = 0;
    }
    w.pending.append(line);
    ++*sent;
  }
}

bool WatchLog::AnyRoomLocked(uint32_t kind, size_t line_size, uint64_t* skipped) {
  bool room = false;
  for (const Watcher& w : watchers_) {
    if ((w.kinds & kind) != 0 && w.pending.size() + line_size <= buffer_limit_) room = true;
  }
  if (room) return true;
  // Every watcher of this kind is full (none reads): count the line lost without making it.
  for (Watcher& w : watchers_) {
    if ((w.kinds & kind) == 0) continue;
    ++w.skipped;
    ++*skipped;
  }
  return false;
}

bool WatchLog::DrainLocked() {
  bool any = false;
  uint64_t sent = 0, skipped = 0;  // added to the shared counters once per drain
  for (Stripe& stripe : stripes_) {
    uint64_t dropped;
    {
      common::MutexLock lock(stripe.mu);
      drained_.swap(stripe.records);
      stripe.records.clear();
      dropped = stripe.dropped;
      stripe.dropped = 0;
    }
    if (dropped != 0) {
      // The log thread fell behind: every watcher lost them.
      for (Watcher& w : watchers_) w.skipped += dropped;
      skipped += dropped * watchers_.size();
    }
    size_t at = 0;
    while (at + sizeof(RecordHead) <= drained_.size()) {
      RecordHead head;
      std::memcpy(&head, drained_.data() + at, sizeof(head));
      at += sizeof(head);
      const std::string_view body(drained_.data() + at, head.len);
      at += head.len;
      any = true;
      // The longest prefix is 60 bytes; a line no watcher has room for is not formatted.
      if (!AnyRoomLocked(head.kind, 60 + body.size() + 1, &skipped)) continue;
      // memcached prints the microseconds without zero padding.
      char num[20];
      line_.assign("ts=");
      line_.append(num, common::FormatU64(static_cast<uint64_t>(head.sec), num));
      line_.push_back('.');
      line_.append(num, common::FormatU64(static_cast<uint64_t>(head.usec), num));
      line_.append(" gid=");
      line_.append(num, common::FormatU64(++gid_, num));
      line_.push_back(' ');
      line_.append(body);
      line_.push_back('\n');
      Deliver(head.kind, line_, &sent, &skipped);
    }
    drained_.clear();
  }
  sent_.fetch_add(sent, std::memory_order_relaxed);
  skipped_.fetch_add(skipped, std::memory_order_relaxed);
  return any;
}

void WatchLog::Run() {
  std::vector<pollfd> fds;
  bool busy = false;  // lines came in the last drain: look again in a millisecond
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
    if (::poll(fds.data(), fds.size(), busy ? 1 : -1) < 0 && errno != EINTR) return;
    if (fds[0].revents & POLLIN) {
      uint64_t v;
      [[maybe_unused]] ssize_t r = ::read(wake_fd_, &v, sizeof(v));
    }
    // From here an Emit wakes this thread again, unless lines keep coming: then the flag stays
    // set (no Emit writes the eventfd) and the next poll times out in a millisecond.
    wake_pending_.store(false, std::memory_order_release);
    common::MutexLock lock(mu_);
    busy = DrainLocked();
    if (busy) wake_pending_.store(true, std::memory_order_release);
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
