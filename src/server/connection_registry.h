#pragma once
// Every open socket as `stats conns` lists it: listeners and clients, with the state and the time
// of the last command that their owner keeps current. Shared by all workers: Add/Remove/Visit
// take a mutex (they run once per connection or per stats request); state updates are relaxed
// atomic stores by the owning thread.
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "common/function_ref.h"
#include "common/mutex.h"

namespace cachet::server {

// memcached's connection states, by the names `stats conns` prints.
enum class ConnState : uint8_t {
  kListening,
  kNewCmd,    // idle, waiting for a command
  kParseCmd,  // executing commands
  kNread,     // waiting for the rest of a data block
  kMwrite,    // replies waiting to be sent
  kClosing,
  kWatch,
  kRead,  // waiting for the rest of a command line (and UDP sockets)
};
const char* ConnStateName(ConnState state);

struct ConnInfo {
  int fd = -1;
  std::string addr;         // "tcp:127.0.0.1:5000", "tcp6:[::1]:5000", "unix:/path", "udp:..."
  std::string listen_addr;  // the listener a client came through; empty for listeners
  bool udp = false;
  std::atomic<ConnState> state{ConnState::kParseCmd};
  std::atomic<uint32_t> last_cmd{0};  // server time

  void Set(ConnState s) { state.store(s, std::memory_order_relaxed); }
  void Touch(uint32_t now) { last_cmd.store(now, std::memory_order_relaxed); }
};

class ConnectionRegistry {
 public:
  // The returned entry stays valid until Remove(); remove it before closing the fd (so a new
  // socket that reuses the number gets its own entry).
  ConnInfo* Add(int fd, std::string addr, std::string listen_addr, ConnState state, uint32_t now);
  void Remove(ConnInfo* info);
  // In fd order, under the registry's lock.
  void Visit(common::FunctionRef<void(const ConnInfo&)> fn) const;

 private:
  mutable common::Mutex mu_;
  std::multimap<int, std::unique_ptr<ConnInfo>> by_fd_ CACHET_GUARDED_BY(mu_);
};

}  // namespace cachet::server
