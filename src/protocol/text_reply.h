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
inline constexpr std::string_view kFlushNotAllowed = "CLIENT_ERROR flush_all not allowed\r\n";
inline constexpr std::string_view kFlushPrefixNotAllowed =
    "CLIENT_ERROR flush_prefix not allowed\r\n";
inline constexpr std::string_view kTooManyPrefixRules = "SERVER_ERROR too many prefix rules\r\n";

// Operator commands (server/operator_commands.h).
inline constexpr std::string_view kBadCommandLine = "CLIENT_ERROR bad command line\r\n";
inline constexpr std::string_view kDetailUsage = "CLIENT_ERROR usage: stats detail on|off|dump\r\n";
inline constexpr std::string_view kCacheDumpNotAllowed =
    "CLIENT_ERROR stats cachedump not allowed\r\n";
inline constexpr std::string_view kIllegalSlabId = "CLIENT_ERROR Illegal slab id\r\n";
inline constexpr std::string_view kSizesEnabled = "STAT sizes_status enabled\r\n";
inline constexpr std::string_view kSizesDisabled = "STAT sizes_status disabled\r\n";
inline constexpr std::string_view kCrawlerAlreadyRunning =
    "ERROR failed to start lru crawler thread\r\n";
inline constexpr std::string_view kCrawlerBusy = "BUSY currently processing crawler request\r\n";
inline constexpr std::string_view kCrawlerDisabled = "CLIENT_ERROR lru crawler disabled\r\n";
inline constexpr std::string_view kMetadumpNotAllowed = "ERROR metadump not allowed\r\n";
inline constexpr std::string_view kBadClass = "BADCLASS invalid class id\r\n";
// slabs reassign: cachet has no slab pages, so a valid source never has one to spare.
inline constexpr std::string_view kReassignSame = "SAME src and dst class are identical\r\n";
inline constexpr std::string_view kReassignBadClass = "BADCLASS invalid src or dst class id\r\n";
inline constexpr std::string_view kReassignNoSpare = "NOSPARE source class has no spare pages\r\n";
inline constexpr std::string_view kMetadumpNotFirst =
    "ERROR cannot pipeline other commands before metadump\r\n";
inline constexpr std::string_view kCrawlerSleepTooLong =
    "CLIENT_ERROR sleep must be one second or less\r\n";
inline constexpr std::string_view kMemlimitTooSmall =
    "MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n";
inline constexpr std::string_view kMemlimitNotBytes =
    "MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes\r\n";
inline constexpr std::string_view kMemlimitAdjustFailed =
    "MEMLIMIT_ADJUST_FAILED out of bounds or unable to adjust\r\n";
inline constexpr std::string_view kShutdownNotEnabled = "ERROR: shutdown not enabled\r\n";
inline constexpr std::string_view kBadShutdownMode = "CLIENT_ERROR invalid shutdown mode\r\n";
// `snapshot` (cachet): allowed with -A, as shutdown is; needs -e.
inline constexpr std::string_view kSnapshotNotEnabled = "ERROR: snapshot not enabled\r\n";
inline constexpr std::string_view kSnapshotNoFile = "SERVER_ERROR snapshot needs -e <file>\r\n";
inline constexpr std::string_view kSnapshotOverUdp =
    "CLIENT_ERROR snapshot not allowed over UDP\r\n";
inline constexpr std::string_view kSnapshotFailed = "SERVER_ERROR snapshot failed\r\n";
inline constexpr std::string_view kWatchNotAllowed = "CLIENT_ERROR watch commands not allowed\r\n";
// memcached's WATCHER_LIMIT is 20; the refused client stays an ordinary connection.
inline constexpr std::string_view kWatcherTooMany =
    "WATCHER_TOO_MANY log watcher limit reached\r\n";
inline constexpr std::string_view kWatchNotFirst =
    "ERROR cannot pipeline other commands before watch\r\n";
// -Y, before the client authenticated.
inline constexpr std::string_view kUnauthenticated = "CLIENT_ERROR unauthenticated\r\n";
inline constexpr std::string_view kAuthenticationFailure =
    "CLIENT_ERROR authentication failure\r\n";
inline constexpr std::string_view kBadAuthTokenFormat =
    "CLIENT_ERROR bad authentication token format\r\n";
inline constexpr std::string_view kBadLineTermination =
    "CLIENT_ERROR bad command line termination\r\n";

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
