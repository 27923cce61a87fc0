#pragma once
// Standard base64 (RFC 4648, with padding), for the meta protocol's binary keys.
#include <cstddef>
#include <string_view>

namespace cachet::common {

// Decodes `in` into `out` (room for in.size() * 3 / 4 bytes); returns the decoded length, or 0
// when `in` is not valid base64 (memcached treats that as an error too).
size_t Base64Decode(std::string_view in, char* out);

// Encodes `in` into `out` (room for (in.size() + 2) / 3 * 4 bytes); returns the length.
size_t Base64Encode(std::string_view in, char* out);

}  // namespace cachet::common
