#pragma once
// Formats stat values for a StatVisitor: the one place that turns numbers, flags and times into
// memcached's text forms, for the general stats and the stats groups alike.
#include <sys/time.h>

#include <cstdint>
#include <cstdio>
#include <string_view>

#include "common/function_ref.h"
#include "common/numbers.h"

namespace cachet::server {

using StatVisitor = common::FunctionRef<void(std::string_view name, std::string_view value)>;

class StatWriter {
 public:
  explicit StatWriter(StatVisitor visit) : visit_(visit) {}
  void U(std::string_view name, uint64_t v) {
    char buf[20];
    visit_(name, std::string_view(buf, common::FormatU64(v, buf)));
  }
  void I(std::string_view name, int64_t v) {
    char buf[24];
    const int n = std::snprintf(buf, sizeof(buf), "%lld", static_cast<long long>(v));
    visit_(name, std::string_view(buf, static_cast<size_t>(n)));
  }
  void S(std::string_view name, std::string_view v) { visit_(name, v); }
  void B(std::string_view name, bool v) { visit_(name, v ? "yes" : "no"); }
  void F(std::string_view name, double v, int decimals = 2) {
    char buf[32];
    const int n = std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
    visit_(name, std::string_view(buf, static_cast<size_t>(n)));
  }
  void Time(std::string_view name, const timeval& tv) {
    char buf[64];
    const int n = std::snprintf(buf, sizeof(buf), "%ld.%06ld", static_cast<long>(tv.tv_sec),
                                static_cast<long>(tv.tv_usec));
    visit_(name, std::string_view(buf, static_cast<size_t>(n)));
  }
  // "<prefix><id>:<name>" keys of the per-class groups.
  void ClassU(std::string_view prefix, int id, std::string_view name, uint64_t v) {
    char key[96];
    const int n = std::snprintf(key, sizeof(key), "%.*s%d:%.*s", static_cast<int>(prefix.size()),
                                prefix.data(), id, static_cast<int>(name.size()), name.data());
    U(std::string_view(key, static_cast<size_t>(n)), v);
  }

 private:
  StatVisitor visit_;
};

}  // namespace cachet::server
