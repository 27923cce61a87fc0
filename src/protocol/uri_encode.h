#pragma once
// memcached's uriencode, which metadump and the eviction lines of `watch` apply to keys:
// unreserved characters (RFC 3986) stay, everything else becomes %XX.
#include <string>
#include <string_view>

#include "common/byte_buffer.h"

namespace cachet::protocol {

// Encodes into p, which has room for 3 bytes per key byte; returns the length written.
size_t UriEncode(char* p, std::string_view key);
void AppendUriEncoded(common::ByteBuffer& out, std::string_view key);
void AppendUriEncoded(std::string& out, std::string_view key);

}  // namespace cachet::protocol
