#pragma once
// One client connection on a worker's event loop: moves bytes between its transport (the plain
// socket or TLS over it) and its protocol Session. Owned and used by exactly one worker thread.
#include <cstdint>
#include <memory>
#include <string>

#include "common/byte_buffer.h"
#include "net/transport.h"
#include "net/watch_log.h"
#include "server/buffer_charge.h"
#include "server/server_context.h"
#include "server/session.h"

namespace cachet::net {

class Connection {
 public:
  // `info`: the connection's `stats conns` entry, removed from the registry when it closes.
  // `reclaimer`: the worker, which closes its biggest buffer holder when the budget is full.
  Connection(std::unique_ptr<Transport> transport, server::ServerContext& server,
             server::WorkerContext& worker, server::ConnInfo* info,
             server::BufferReclaimer* reclaimer = nullptr);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  int fd() const { return fd_; }
  // True once the socket was handed to the watch log: closing the connection must then leave
  // the socket (and its connection count) alone.
  bool released() const { return released_; }
  // Gives the released socket, its entry and unsent replies to the watch log. Only after the
  // socket left the worker's epoll set: the log may close it at once.
  void HandOverToWatch(WatchLog& watch);
  // Stopped at -R's limit with requests still buffered, or plaintext waits inside the transport
  // (TLS) where epoll cannot see it: the worker must drive it again.
  bool yielded() const;
  // Waits for another thread (`snapshot`): the worker drives it again when woken.
  bool waiting() const { return session_.waiting(); }
  uint32_t last_active() const { return info_->last_cmd.load(std::memory_order_relaxed); }
  bool waiting_for_command() const {
    const server::ConnState s = info_->state.load(std::memory_order_relaxed);
    return s == server::ConnState::kNewCmd || s == server::ConnState::kRead;
  }
  const std::string& address() const { return info_->addr; }
  // Closing because the client broke the protocol (watch connevents: reason=error).
  bool closed_on_error() const { return closed_on_error_; }
  // Closing because the buffer budget had no room for it (watch connevents:
  // reason=out_of_memory).
  bool closed_out_of_memory() const { return out_of_memory_; }
  const server::BufferCharge& charge() const { return charge_; }
  // Closed to give its buffer memory to another connection: the next OnEvent closes it.
  void Doom() { charge_.Forfeit(); }

  // Handles readiness; returns false when the connection must be closed.
  bool OnEvent(uint32_t events);
  // The epoll interest the connection needs now.
  uint32_t WantedEvents() const;

 private:
  bool ReadSome();  // false on EOF or a hard error
  bool Drive();     // process + write until no progress; false = close
  bool Flush();     // false on a hard write error
  // Charges the buffers as they are now.
  bool AffordBuffers() { return charge_.Afford(in_.capacity(), !in_.empty(), out_.capacity()); }
  // The budget had no room: drop what is buffered, tell the client (best effort) and close.
  void OutOfMemory(std::string_view reply);
  // Keeps the worker's read_buf_* gauges in step with the input buffer.
  void NoteBuffers();

  void NoteState();

  std::unique_ptr<Transport> transport_;
  const int fd_;
  server::ServerContext& server_;
  server::WorkerContext& worker_;
  server::ConnInfo* const info_;
  server::BufferCharge charge_;  // before session_, which refers to it
  server::Session session_;
  common::ByteBuffer in_;
  common::ByteBuffer out_;
  size_t input_limit_;
  // The input buffer as the gauges last counted it.
  size_t noted_capacity_ = 0;
  bool noted_free_ = false;
  bool peer_closed_ = false;
  bool closing_ = false;          // quit or a fatal line: deliver what was answered, then close
  bool closed_on_error_ = false;  // closing because the client broke the protocol
  bool released_ = false;
  bool out_of_memory_ = false;  // closed because the budget had no room
};

}  // namespace cachet::net
