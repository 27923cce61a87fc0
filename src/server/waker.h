#pragma once
// Something a worker waits for finished on another thread (an online snapshot): wakes the
// worker's loop, which then drives the connections that were waiting. net/ implements it.
namespace cachet::server {

class Waker {
 public:
  virtual ~Waker() = default;
  // Callable from any thread.
  virtual void Wake() = 0;
};

}  // namespace cachet::server
