#pragma once
// Wire strings of the meta protocol (memcached 1.6.18), in one place: the status code each
// outcome answers with, the pieces of return flags, and the fixed error lines.
#include <cstdint>
#include <string_view>

#include "common/byte_buffer.h"
#include "common/outcome.h"
#include "protocol/text_request.h"

namespace cachet::protocol {

inline constexpr std::string_view kMetaNoop = "MN\r\n";
inline constexpr std::string_view kMetaMiss = "EN\r\n";
inline constexpr std::string_view kOpaqueTooLong = "CLIENT_ERROR opaque token too long\r\n";
inline constexpr std::string_view kBadMetaSetMode = "CLIENT_ERROR invalid mode for ms M token\r\n";
inline constexpr std::string_view kBadMetaArithMode =
    "CLIENT_ERROR invalid mode for ma M token\r\n";

// How ms, md and ma answer a store outcome: a status code (HD NS EX NF) that return flags and
// CRLF follow, or instead a whole error line.
struct MetaReply {
  std::string_view code;
  std::string_view error_line;  // non-empty: sent alone, whatever the flags (and q) say
};
MetaReply MetaReplyFor(common::Outcome outcome, TextCommand command);

// Return-flag pieces, each with its leading space.
void AppendMetaFlag(common::ByteBuffer& out, char flag, uint64_t value);  // " <flag><value>"
// " t<seconds left>", or " t-1" for an item that never expires.
void AppendMetaTtl(common::ByteBuffer& out, uint32_t exptime, uint32_t now);
// The key as a reply spells it: base64 again when the request's was (b).
void AppendMetaKeyText(common::ByteBuffer& out, std::string_view key, bool base64);
// " k<key>", followed by " b" for a base64 key.
void AppendMetaKey(common::ByteBuffer& out, std::string_view key, bool base64);
// The flags every reply echoes, in request order: O (opaque) and k (key).
void AppendMetaEchoFlags(common::ByteBuffer& out, const MetaFlags& flags, std::string_view key);

}  // namespace cachet::protocol
