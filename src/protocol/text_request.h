#pragma once
// A parsed memcached text-protocol request. All string views point into the caller's input
// buffer and are valid until that buffer is consumed or grows.
#include <cstdint>
#include <string_view>

namespace cachet::protocol {

enum class TextCommand : uint8_t {
  kGet,
  kGets,
  kGat,
  kGats,
  kSet,
  kAdd,
  kReplace,
  kAppend,
  kPrepend,
  kCas,
  kDelete,
  kIncr,
  kDecr,
  kTouch,
  kFlushAll,
  kVersion,
  kVerbosity,
  kQuit,
  kStats,
  kDebugTime,
  kShutdown,
};

// Errors found while parsing a line; each maps to one fixed memcached reply (text_reply.h).
enum class TextError : uint8_t {
  kNone,
  kUnknownCommand,   // ERROR
  kBadFormat,        // CLIENT_ERROR bad command line format
  kBadDeleteFormat,  // CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]
  kInvalidExptime,   // CLIENT_ERROR invalid exptime argument
  kInvalidDelta,     // CLIENT_ERROR invalid numeric delta argument
  kCloseConnection,  // an HTTP request line: memcached hangs up without a reply
};

struct TextRequest {
  TextCommand command = TextCommand::kGet;
  TextError error = TextError::kNone;
  bool noreply = false;
  std::string_view key;   // storage, delete, incr/decr, touch
  std::string_view keys;  // get family: space-separated keys (see NextKey)
  std::string_view args;  // stats: everything after the command
  uint32_t flags = 0;
  int32_t exptime = 0;  // as memcached reads it: strtol truncated to int32
  uint32_t bytes = 0;   // declared data length
  uint64_t cas = 0;
  uint64_t delta = 0;
  int64_t number = 0;  // flush_all delay, verbosity level, debugtime seconds
  bool has_number = false;
  std::string_view data;  // the data block of a storage command, without its CRLF

  bool is_storage() const {
    return command == TextCommand::kSet || command == TextCommand::kAdd ||
           command == TextCommand::kReplace || command == TextCommand::kAppend ||
           command == TextCommand::kPrepend || command == TextCommand::kCas;
  }
};

// Returns the next space-separated key from *keys and advances it; empty when none is left.
inline std::string_view NextKey(std::string_view* keys) {
  size_t i = 0;
  while (i < keys->size() && (*keys)[i] == ' ') ++i;
  size_t j = i;
  while (j < keys->size() && (*keys)[j] != ' ') ++j;
  std::string_view key = keys->substr(i, j - i);
  keys->remove_prefix(j);
  return key;
}

}  // namespace cachet::protocol
