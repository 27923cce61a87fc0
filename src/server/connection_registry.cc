#include "server/connection_registry.h"

namespace cachet::server {

const char* ConnStateName(ConnState state) {
  switch (state) {
    case ConnState::kListening:
      return "conn_listening";
    case ConnState::kNewCmd:
      return "conn_new_cmd";
    case ConnState::kParseCmd:
      return "conn_parse_cmd";
    case ConnState::kNread:
      return "conn_nread";
    case ConnState::kMwrite:
      return "conn_mwrite";
    case ConnState::kClosing:
      return "conn_closing";
    case ConnState::kWatch:
      return "conn_watch";
    case ConnState::kRead:
      return "conn_read";
  }
  return "conn_parse_cmd";
}

ConnInfo* ConnectionRegistry::Add(int fd, std::string addr, std::string listen_addr,
                                  ConnState state, uint32_t now) {
  auto info = std::make_unique<ConnInfo>();
  info->fd = fd;
  info->addr = std::move(addr);
  info->listen_addr = std::move(listen_addr);
  info->Set(state);
  info->Touch(now);
  ConnInfo* raw = info.get();
  common::MutexLock lock(mu_);
  by_fd_.emplace(fd, std::move(info));
  return raw;
}

void ConnectionRegistry::Remove(ConnInfo* info) {
  if (info == nullptr) return;
  common::MutexLock lock(mu_);
  auto [lo, hi] = by_fd_.equal_range(info->fd);
  for (auto it = lo; it != hi; ++it) {
    if (it->second.get() == info) {
      by_fd_.erase(it);
      return;
    }
  }
}

void ConnectionRegistry::Visit(common::FunctionRef<void(const ConnInfo&)> fn) const {
  common::MutexLock lock(mu_);
  for (const auto& [fd, info] : by_fd_) fn(*info);
}

}  // namespace cachet::server
