#pragma once
// Number parsing with memcached's exact acceptance rules (its safe_strto* helpers), so the same
// tokens are accepted or refused. All return false on failure and never read past `s`.
#include <cstdint>
#include <string_view>

namespace cachet::common {

// strtoull rules: optional leading whitespace and sign, digits, then end or whitespace.
// Overflow fails; a '-' is refused unless the wrapped result is non-negative as int64.
bool ParseU64(std::string_view s, uint64_t* out);

// strtol into a 64-bit long: optional whitespace and sign, digits, end or whitespace.
bool ParseI64(std::string_view s, int64_t* out);

// memcached's safe_strtod: strtod rules, end or whitespace after the number, no overflow.
bool ParseDouble(std::string_view s, double* out);

// Unsigned decimal digits only (an optional '+'), at most `max`. Used where cachet refuses
// out-of-range values that memcached would silently wrap.
bool ParseUnsignedMax(std::string_view s, uint64_t max, uint64_t* out);

// Writes v in decimal at dst (room for 20 bytes); returns the length.
size_t FormatU64(uint64_t v, char* dst);

}  // namespace cachet::common
