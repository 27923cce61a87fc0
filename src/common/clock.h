#pragma once
// Time sources. Server code never calls time() directly: it asks an injected Clock, so tests
// (and the test-only `debugtime` command) can move time without sleeping.
#include <atomic>
#include <cstdint>

namespace cachet::common {

// Wall-clock seconds since the Unix epoch.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t UnixNow() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t UnixNow() const override;
};

// A clock that only moves when told to; for unit tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start) : now_(start) {}
  int64_t UnixNow() const override { return now_.load(std::memory_order_relaxed); }
  void Advance(int64_t seconds) { now_.fetch_add(seconds, std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> now_;
};

// Another clock plus an offset that `debugtime` moves forward.
class OffsetClock final : public Clock {
 public:
  explicit OffsetClock(const Clock& base) : base_(base) {}
  int64_t UnixNow() const override {
    return base_.UnixNow() + offset_.load(std::memory_order_relaxed);
  }
  void Advance(int64_t seconds) { offset_.fetch_add(seconds, std::memory_order_relaxed); }
  int64_t offset() const { return offset_.load(std::memory_order_relaxed); }

 private:
  const Clock& base_;
  std::atomic<int64_t> offset_{0};
};

}  // namespace cachet::common
