#pragma once
// The no-op server's protocol handling: answers memcached text and meta requests without
// storing anything, as cheaply as a server can (parse in place, append replies to one output
// buffer). It defines the floor of per-request CPU the benchmark compares cachet against.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace cachet::bench {

// Per-thread counters, read by any thread's `stats` (relaxed: they are only reported).
struct NoopCounters {
  std::atomic<uint64_t> get_keys{0};
  std::atomic<uint64_t> sets{0};
  std::atomic<uint64_t> connections{0};
};

class NoopSession {
 public:
  // Every get/mg hit returns `value_size` bytes of value_pattern.h's value for its key.
  NoopSession(size_t value_size, NoopCounters& mine, std::span<const NoopCounters> all);

  // Consumes the complete requests at the front of `in` (and data blocks being skipped) and
  // appends their replies to *out. Returns the bytes consumed. *close is set on quit or on a
  // line that cannot be framed.
  size_t Process(std::string_view in, std::string* out, bool* close);

 private:
  // Handles one line (without its terminator); returns false to close the connection.
  bool HandleLine(std::string_view line, std::string* out);
  void AppendValue(std::string_view key, bool with_cas, std::string* out) const;
  void AppendStats(std::string* out) const;

  const size_t value_size_;
  std::string tail_;      // " 0 <n>\r\n" after VALUE <key>
  std::string tail_cas_;  // " 0 <n> 1\r\n"
  std::string va_;        // "VA <n>\r\n"
  std::string pad_;       // n dots and CRLF: the value's end after the key's bytes
  NoopCounters& mine_;
  std::span<const NoopCounters> all_;
  uint64_t get_keys_ = 0;  // since the last Process() published them
  uint64_t sets_ = 0;
  uint64_t skip_ = 0;            // data bytes (with CRLF) still to discard
  std::string_view skip_reply_;  // sent once they are
};

}  // namespace cachet::bench
