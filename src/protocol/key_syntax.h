#pragma once
// What a key may be on the wire, shared by the text, meta and binary parsers.
#include <cstddef>
#include <string_view>

namespace cachet::protocol {

inline constexpr size_t kMaxKeyLength = 250;

// A key is 1..250 bytes without spaces or control characters. (memcached stores keys with
// control characters; cachet refuses them, as its README documents.)
bool KeyIsValid(std::string_view key);

}  // namespace cachet::protocol
