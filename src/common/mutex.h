#pragma once
// std::mutex with the thread-safety attributes libstdc++ lacks, so that clang -Wthread-safety
// can check the fields marked CACHET_GUARDED_BY (common/thread_annotations.h).
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "common/thread_annotations.h"

namespace cachet::common {

class CACHET_CAPABILITY("mutex") Mutex {
 public:
  void Lock() CACHET_ACQUIRE() { mu_.lock(); }
  void Unlock() CACHET_RELEASE() { mu_.unlock(); }
  // For the analysis only (see CACHET_ASSERT_CAPABILITY); checks nothing.
  void AssertHeld() const CACHET_ASSERT_CAPABILITY(this) {}

 private:
  friend class CondVar;
  std::mutex mu_;
};

// Holds `mu` from construction to the end of the scope.
class CACHET_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) CACHET_ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~MutexLock() CACHET_RELEASE() { mu_.Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

// std::condition_variable for a Mutex: a wait releases it and holds it again before returning,
// so to the analysis the caller holds it throughout. Wake-ups may be spurious: wait in a loop.
class CondVar {
 public:
  void Wait(Mutex& mu) CACHET_REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu.mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();
  }
  void WaitUntil(Mutex& mu, std::chrono::steady_clock::time_point deadline) CACHET_REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu.mu_, std::adopt_lock);
    cv_.wait_until(lock, deadline);
    lock.release();
  }
  void NotifyAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace cachet::common
