#include "common/numbers.h"

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace cachet::common {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// Shared by the strto* emulations: whitespace, sign, digits with overflow detection on the
// magnitude, and the "end or whitespace" rule after the digits.
bool ScanMagnitude(std::string_view s, bool* negative, uint64_t* magnitude) {
  size_t i = 0;
  while (i < s.size() && IsSpace(s[i])) ++i;
  *negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    *negative = s[i] == '-';
    ++i;
  }
  const size_t digits_start = i;
  uint64_t v = 0;
  bool overflow = false;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    const uint64_t d = static_cast<uint64_t>(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10) overflow = true;
    v = v * 10 + d;
  }
  if (i == digits_start || overflow) return false;
  if (i < s.size() && !IsSpace(s[i])) return false;
  *magnitude = v;
  return true;
}

}  // namespace

bool ParseU64(std::string_view s, uint64_t* out) {
  bool negative;
  uint64_t m;
  if (!ScanMagnitude(s, &negative, &m)) return false;
  const uint64_t v = negative ? (~m + 1) : m;
  if (negative && static_cast<int64_t>(v) < 0) return false;
  *out = v;
  return true;
}

bool ParseI64(std::string_view s, int64_t* out) {
  bool negative;
  uint64_t m;
  if (!ScanMagnitude(s, &negative, &m)) return false;
  if (negative) {
    if (m > uint64_t{1} << 63) return false;
    *out = static_cast<int64_t>(~m + 1);
  } else {
    if (m > static_cast<uint64_t>(INT64_MAX)) return false;
    *out = static_cast<int64_t>(m);
  }
  return true;
}

bool ParseDouble(std::string_view s, double* out) {
  char buf[64];  // strtod needs a terminated string; a longer token is no number memcached takes
  if (s.empty() || s.size() >= sizeof(buf)) return false;
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  char* end = nullptr;
  errno = 0;
  const double d = std::strtod(buf, &end);
  if (errno == ERANGE || end == buf || (*end != '\0' && !IsSpace(*end))) return false;
  *out = d;
  return true;
}

bool ParseUnsignedMax(std::string_view s, uint64_t max, uint64_t* out) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (max - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

size_t FormatU64(uint64_t v, char* dst) {
  char tmp[20];
  size_t n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (size_t i = 0; i < n; ++i) dst[i] = tmp[n - 1 - i];
  return n;
}

}  // namespace cachet::common
