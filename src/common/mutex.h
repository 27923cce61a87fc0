#pragma once
// std::mutex with the thread-safety attributes libstdc++ lacks, so that clang -Wthread-safety
// can check the fields marked CACHET_GUARDED_BY (common/thread_annotations.h).
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

}  // namespace cachet::common
