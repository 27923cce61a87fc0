#pragma once
// The process-wide budget for what connections buffer (-o read_buf_mem_limit): input that waits
// for the rest of its request, and replies that wait for the client to read them. An input
// buffer is charged whole while it holds part of a request (as memcached charges a read buffer
// while a connection holds one), nothing once the requests in it are done; an output buffer is
// charged past kFreePerBuffer. A buffer grows only if the budget has room, and a connection
// that cannot get it is closed (read_buf_oom), as memcached closes one that cannot get a read
// buffer. So whatever clients send or fail to read, buffers cost at most the limit plus
// 2 x kFreePerBuffer per connection (an empty input buffer is kept at most that large).
#include <atomic>
#include <cstddef>

namespace cachet::server {

class BufferBudget {
 public:
  static constexpr size_t kFreePerBuffer = 16 * 1024;

  explicit BufferBudget(size_t limit) : limit_(limit) {}
  BufferBudget(const BufferBudget&) = delete;
  BufferBudget& operator=(const BufferBudget&) = delete;

  // What buffers of these capacities are charged.
  static size_t Cost(size_t in_capacity, bool in_holds_data, size_t out_capacity) {
    return (in_holds_data ? in_capacity : 0) +
           (out_capacity > kFreePerBuffer ? out_capacity - kFreePerBuffer : 0);
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
  const size_t limit_;
  std::atomic<size_t> used_{0};
};

}  // namespace cachet::server
