#include "net/connection.h"

#include <sys/epoll.h>

#include <algorithm>

namespace cachet::net {
namespace {
constexpr size_t kReadChunk = 16 * 1024;
// A buffer grown past what the budget leaves free goes back to the idle size once empty.
constexpr size_t kIdleBufferLimit = server::BufferBudget::kFreePerBuffer;
constexpr size_t kIdleBufferSize = 4 * 1024;
}  // namespace

Connection::Connection(std::unique_ptr<Transport> transport, server::ServerContext& server,
                       server::WorkerContext& worker, server::ConnInfo* info,
                       server::BufferReclaimer* reclaimer)
    : transport_(std::move(transport)),
      fd_(transport_->fd()),
      server_(server),
      worker_(worker),
      info_(info),
      charge_(server.buffer_budget()),
      session_(server, worker),
      in_(kIdleBufferSize, &worker.buffers),
      out_(kIdleBufferSize, &worker.buffers),
      // Enough for the longest accepted line plus the largest value; a client cannot make the
      // server buffer more than this however it sends.
      input_limit_(server.settings().input_limit()) {
  session_.set_client_fd(fd_);
  session_.set_buffer_charge(&charge_);
  charge_.set_reclaimer(reclaimer);
  worker_.gauges.read_buf_count.Add();
  NoteBuffers();
}

Connection::~Connection() {
  worker_.gauges.read_buf_count.Sub(1);
  worker_.gauges.read_buf_bytes.Sub(noted_capacity_);
  if (noted_free_) worker_.gauges.read_buf_bytes_free.Sub(noted_capacity_);
  if (released_) return;             // the watch log owns the transport and the entry now
  server_.registry().Remove(info_);  // before the fd number can be reused
  transport_.reset();                // closes the socket
}

void Connection::HandOverToWatch(WatchLog& watch) {
  watch.AddWatcher(std::move(transport_), session_.watch_kinds(), info_,
                   std::string(out_.readable()));
}

bool Connection::yielded() const {
  return (session_.yielded() && !in_.empty()) ||
         ((WantedEvents() & EPOLLIN) != 0 && transport_->HasBuffered());
}

void Connection::NoteState() {
  using server::ConnState;
  info_->Set(closing_                      ? ConnState::kClosing
             : session_.input_wanted() > 0 ? ConnState::kNread
             : !out_.empty()               ? ConnState::kMwrite
             : !in_.empty()                ? ConnState::kRead
                                           : ConnState::kNewCmd);
}

uint32_t Connection::WantedEvents() const {
  if (closing_) return transport_->Interest(EPOLLOUT);
  uint32_t ev = 0;
  // Stop reading while replies pile up: a client that does not read costs bounded memory.
  if (out_.size() < server::kOutputHighWater && in_.size() < input_limit_ && !peer_closed_) {
    ev |= EPOLLIN;
  }
  if (!out_.empty()) ev |= EPOLLOUT;
  return transport_->Interest(ev);
}

bool Connection::OnEvent(uint32_t events) {
  if (charge_.doomed()) {
    OutOfMemory("SERVER_ERROR out of memory reading request\r\n");
    return false;
  }
  if (closing_) return Flush() && !out_.empty();
  events = transport_->Ready(events);
  if (events & EPOLLIN) {
    if (!ReadSome()) peer_closed_ = true;
    if (out_of_memory_) return false;
    info_->Touch(server_.time().Now());
    info_->Set(server::ConnState::kParseCmd);
  }
  if (!Drive()) return false;
  NoteState();
  if (peer_closed_ && out_.empty()) return false;
  if ((events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLIN)) return false;
  in_.ShrinkIfEmpty(kIdleBufferLimit, kIdleBufferSize);
  out_.ShrinkIfEmpty(kIdleBufferLimit, kIdleBufferSize);
  // Replies are appended whole: a batch that grew the output past the budget is dropped.
  if (charge_.exhausted() || !AffordBuffers()) {
    OutOfMemory("SERVER_ERROR out of memory writing get response\r\n");
    return false;
  }
  NoteBuffers();
  return true;
}

void Connection::OutOfMemory(std::string_view reply) {
  worker_.stats.read_buf_oom.Add();
  out_of_memory_ = true;
  closed_on_error_ = true;
  in_.Consume(in_.size());
  out_.Consume(out_.size());
  in_.ShrinkIfEmpty(kIdleBufferSize, kIdleBufferSize);
  out_.ShrinkIfEmpty(kIdleBufferSize, kIdleBufferSize);
  AffordBuffers();  // gives back what the buffers held
  NoteBuffers();
  transport_->Write(reply.data(), reply.size());  // the socket may be full: then it is lost
}

void Connection::NoteBuffers() {
  const size_t capacity = in_.capacity();
  const bool free = in_.empty();
  if (capacity == noted_capacity_ && free == noted_free_) return;
  server::ThreadGauges& g = worker_.gauges;
  g.read_buf_bytes.Add(capacity);
  g.read_buf_bytes.Sub(noted_capacity_);
  if (noted_free_) g.read_buf_bytes_free.Sub(noted_capacity_);
  if (free) g.read_buf_bytes_free.Add(capacity);
  noted_capacity_ = capacity;
  noted_free_ = free;
}

bool Connection::ReadSome() {
  if (in_.size() >= input_limit_) return true;  // the session will consume first
  const size_t wanted = session_.input_wanted();
  const size_t need = wanted > in_.size() ? wanted - in_.size() : 0;
  const size_t room = in_.capacity() - in_.size();
  char* dst;
  size_t chunk;
  if (room == 0 || need > room || (in_.empty() && room < kReadChunk)) {
    // Growing: a value larger than the room, a line longer than the buffer, or a first read;
    // within what the budget leaves free when that is enough.
    constexpr size_t kFree = server::BufferBudget::kFreePerBuffer;
    chunk = std::max(kReadChunk, need);
    if (in_.size() < kFree && need <= kFree - in_.size()) chunk = kFree - in_.size();
    chunk = std::min(chunk, input_limit_ - in_.size());
    if (charge_.Afford(in_.CapacityFor(chunk), true, out_.capacity())) {
      dst = in_.Reserve(chunk);
    } else if (room > 0) {
      chunk = room;  // no budget to grow: fill what the buffer has
      dst = in_.ReserveInPlace();
    } else {
      OutOfMemory("SERVER_ERROR out of memory reading request\r\n");
      return true;
    }
  } else {
    chunk = room;  // a partial request: read into the room it leaves, without growing
    dst = in_.ReserveInPlace();
  }
  const ssize_t n = transport_->Read(dst, chunk);
  if (n > 0) {
    in_.Commit(static_cast<size_t>(n));
    worker_.stats.bytes_read.Add(static_cast<uint64_t>(n));
  }
  return n >= 0;
}

bool Connection::Drive() {
  while (true) {
    const server::SessionAction action = session_.Process(in_, out_);
    if (charge_.exhausted()) {
      OutOfMemory("SERVER_ERROR out of memory writing get response\r\n");
      return false;
    }
    if (action == server::SessionAction::kWatch) {
      released_ = true;  // the worker hands the socket over once it left its epoll set
      return false;
    }
    if (action == server::SessionAction::kClose || action == server::SessionAction::kCloseOnError) {
      // Replies already produced still go out (memcached delivers them); nothing more is read.
      closing_ = true;
      closed_on_error_ = action == server::SessionAction::kCloseOnError;
      return Flush() && !out_.empty();
    }
    const size_t before = out_.size();
    if (!Flush()) return false;
    // Loop only if writing made room for a paused multiget to continue.
    const bool drained = out_.size() < before && out_.size() < server::kOutputHighWater;
    if (!drained || in_.empty()) return true;
    if (before < server::kOutputHighWater) return true;
  }
}

bool Connection::Flush() {
  while (!out_.empty()) {
    const std::string_view data = out_.readable();
    const ssize_t n = transport_->Write(data.data(), data.size());
    if (n < 0) return false;
    if (n == 0) return true;  // the socket is full: wait for EPOLLOUT
    out_.Consume(static_cast<size_t>(n));
    worker_.stats.bytes_written.Add(static_cast<uint64_t>(n));
  }
  return true;
}

}  // namespace cachet::net
