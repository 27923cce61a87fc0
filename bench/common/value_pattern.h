#pragma once
// The value every bench tool writes and expects for a key: the key's bytes, then '.' up to the
// value size (truncated if the value is shorter than the key). The load generator checks each
// returned value against it, and the no-op server produces it, so a wrong or torn value is
// caught whichever server answers.
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string_view>

namespace cachet::bench {

inline void FillValue(std::string_view key, char* dst, size_t size) {
  const size_t k = std::min(key.size(), size);
  std::memcpy(dst, key.data(), k);
  std::memset(dst + k, '.', size - k);
}

inline bool ValueMatches(std::string_view key, std::string_view value, size_t size) {
  if (value.size() != size) return false;
  const size_t k = std::min(key.size(), size);
  if (std::memcmp(value.data(), key.data(), k) != 0) return false;
  for (size_t i = k; i < size; ++i) {
    if (value[i] != '.') return false;
  }
  return true;
}

}  // namespace cachet::bench
