#pragma once
// Server time as memcached keeps it: whole seconds since just before the process started, so it
// fits 32 bits and 0 can mean "never expires". Converts protocol exptimes with memcached's rules.
#include <cstdint>

#include "common/clock.h"

namespace cachet::server {

class ServerTime {
 public:
  // Relative exptimes above this are absolute Unix times.
  static constexpr int64_t kMaxRelative = 60 * 60 * 24 * 30;

  explicit ServerTime(const common::Clock& clock) : clock_(clock), started_(clock.UnixNow() - 2) {}

  uint32_t Now() const { return static_cast<uint32_t>(clock_.UnixNow() - started_); }
  int64_t started() const { return started_; }
  // A warm restart goes on in the saved server's time (as memcached restores process_started),
  // so the times stored with the items stay valid. Only before serving.
  void Rebase(int64_t started) { started_ = started; }
  int64_t UnixNow() const { return clock_.UnixNow(); }

  // memcached's realtime(EXPTIME_TO_POSITIVE_TIME(exptime)): 0 never expires, negative is
  // already expired, up to 30 days is relative, beyond that an absolute Unix time.
  uint32_t ToServerTime(int64_t exptime) const {
    if (exptime == 0) return 0;
    if (exptime < 0) exptime = kMaxRelative + 1;
    if (exptime > kMaxRelative) {
      if (exptime <= started_) return 1;  // in the past: expired already
      return static_cast<uint32_t>(exptime - started_);
    }
    return static_cast<uint32_t>(exptime + Now());
  }

 private:
  const common::Clock& clock_;
  int64_t started_;
};

}  // namespace cachet::server
