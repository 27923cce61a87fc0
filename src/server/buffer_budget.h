#pragma once
// The process-wide budget for what connections buffer (-o read_buf_mem_limit): input that waits
// for the rest of its request, and replies that wait for the client to read them. An input
// buffer is charged while it holds part of a request, nothing once the requests in it are done;
// an output buffer is charged past kFreePerBuffer. By default an input buffer too is charged
// only past kFreePerBuffer, so that clients which only leave a request unfinished cannot fill
// the budget and get other clients' unfinished requests refused; with -o read_buf_mem_limit it
// is charged whole, as memcached charges every read buffer a connection holds. A buffer grows only
// if the budget has room, and a connection that cannot get it is closed (read_buf_oom), as
// memcached closes one that cannot get a read buffer. So whatever clients send or fail to read,
// buffers cost at most the limit plus 2 x kFreePerBuffer per connection (an empty input buffer is
// kept at most that large).
#include <atomic>
#include <cstddef>

namespace cachet::server {

class BufferBudget {
 public:
  static constexpr size_t kFreePerBuffer = 16 * 1024;

  // `strict_input`: charge an input buffer whole (-o read_buf_mem_limit was given).
  BufferBudget(size_t limit, bool strict_input) : limit_(limit), strict_input_(strict_input) {}
  BufferBudget(const BufferBudget&) = delete;
  BufferBudget& operator=(const BufferBudget&) = delete;

  // What buffers of these capacities are charged.
  size_t Cost(size_t in_capacity, bool in_holds_data, size_t out_capacity) const {
    const size_t in = !in_holds_data ? 0 : strict_input_ ? in_capacity : Beyond(in_capacity);
    return in + Beyond(out_capacity);
  }
  bool TryCharge(size_t n) {
    size_t used = used_.load(std::memory_order_relaxed);
    do {
      if (n > limit_ - used) return false;
    } while (!used_.compare_exchange_weak(used, used + n, std::memory_order_relaxed));
    return true;
  }
  void Release(size_t n) { used_.fetch_sub(n, std::memory_order_relaxed); }
  size_t used() const { return used_.load(std::memory_order_relaxed); }
  size_t limit() const { return limit_; }

 private:
  static size_t Beyond(size_t capacity) {
    return capacity > kFreePerBuffer ? capacity - kFreePerBuffer : 0;
  }
  const size_t limit_;
  const bool strict_input_;
  std::atomic<size_t> used_{0};
};

}  // namespace cachet::server
