#pragma once
// Wire strings of the text protocol, in one place.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/outcome.h"
#include "protocol/text_request.h"

namespace cachet::protocol {

inline constexpr std::string_view kEnd = "END\r\n";
inline constexpr std::string_view kOk = "OK\r\n";
inline constexpr std::string_view kError = "ERROR\r\n";
inline constexpr std::string_view kBadDataChunk = "CLIENT_ERROR bad data chunk\r\n";
inline constexpr std::string_view kBadFormat = "CLIENT_ERROR bad command line format\r\n";
inline constexpr std::string_view kNonNumeric =
    "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n";
inline constexpr std::string_view kTooLarge = "SERVER_ERROR object too large for cache\r\n";
inline constexpr std::string_view kOutOfMemoryStoring =
    "SERVER_ERROR out of memory storing object\r\n";
inline constexpr std::string_view kOutOfMemory = "SERVER_ERROR out of memory\r\n";
inline constexpr std::string_view kTooManyConnections = "ERROR Too many open connections\r\n";
inline constexpr std::string_view kVersion = "VERSION 1.6.18\r\n";
inline constexpr std::string_view kReset = "RESET\r\n";

// The reply to a storage/delete/touch outcome (STORED, NOT_STORED, EXISTS, ...).
std::string_view OutcomeReply(common::Outcome outcome);

// The reply to a line the parser refused; empty for kCloseConnection.
std::string_view ErrorReply(TextError error);

// Longest "VALUE <key> <flags> <bytes> <cas>\r\n".
inline constexpr size_t kMaxValueHeader = 6 + 250 + 1 + 10 + 1 + 10 + 1 + 20 + 2;

// Writes the VALUE line of a get/gets hit at dst; returns its length.
size_t FormatValueHeader(char* dst, std::string_view key, uint32_t flags, uint32_t bytes,
                         bool with_cas, uint64_t cas);

}  // namespace cachet::protocol
