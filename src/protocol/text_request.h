#pragma once
// A parsed memcached text-protocol request. All string views point into the caller's input
// buffer and are valid until that buffer is consumed or grows.
#include <cstdint>
#include <string_view>

#include "protocol/operator_request.h"

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
  // Operator commands; their arguments are parsed into `op` (operator_request.h).
  kLruCrawler,
  kCacheMemlimit,
  kWatch,
  kSnapshot,
  kSlabs,
  kLru,
  kRefreshCerts,  // -Z: reload the TLS certificate files
  kFlushPrefix,   // cachet: flush_prefix <prefix> [noreply]
  // Meta commands (mg ms md ma mn me).
  kMetaGet,
  kMetaSet,
  kMetaDelete,
  kMetaArith,
  kMetaNoop,
  kMetaPrefix,  // cachet: mp <prefix> [b] [I] [w] [q] [O<opaque>] [k], meta's flush_prefix
  kMetaDebug,
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
  kMeta,             // a meta command's error: the exact text is in TextRequest::meta_error
};

// A meta command's flags, in request order, and what they ask for. Tokens point into the line.
struct MetaFlags {
  std::string_view tokens[24];
  size_t count = 0;
  bool base64 = false;      // b
  bool quiet = false;       // q
  bool value = false;       // v
  bool no_bump = false;     // u
  bool invalidate = false;  // I
  bool wait = false;        // w (mp only: answer once the sweep is done)
  bool has_ttl = false;     // T<ttl>
  int32_t ttl = 0;
  bool has_vivify = false;  // N<ttl>
  int32_t vivify_ttl = 0;
  bool has_recache = false;  // R<ttl>
  int32_t recache_ttl = 0;
  bool has_cas = false;  // C<cas>
  uint64_t cas = 0;
  uint32_t client_flags = 0;  // F<flags>
  char mode = 0;              // M<mode>
  uint64_t delta = 1;         // D<delta>
  uint64_t initial = 0;       // J<initial>
  std::string_view opaque;    // O<opaque> (the whole token, 'O' included)
};

struct TextRequest {
  TextCommand command = TextCommand::kGet;
  TextError error = TextError::kNone;
  bool noreply = false;
  std::string_view key;   // storage, delete, incr/decr, touch
  std::string_view keys;  // get family: space-separated keys (see NextKey)
  uint32_t flags = 0;
  int32_t exptime = 0;  // as memcached reads it: strtol truncated to int32
  uint32_t bytes = 0;   // declared data length
  uint64_t cas = 0;
  uint64_t delta = 0;
  int64_t number = 0;  // flush_all delay, verbosity level, debugtime seconds
  bool has_number = false;
  std::string_view data;  // the data block of a storage command, without its CRLF
  MetaFlags meta;
  OperatorArgs op;              // stats, lru_crawler, cache_memlimit, shutdown, watch, snapshot
  std::string_view meta_error;  // with TextError::kMeta
  bool meta_data_follows =
      false;              // ms: its datalen parsed, so its data block is discarded on error
  char key_storage[256];  // a base64-decoded meta key; `key` then points here: do not copy

  bool is_meta() const {
    return command >= TextCommand::kMetaGet && command <= TextCommand::kMetaDebug;
  }
  bool is_storage() const {
    return command == TextCommand::kSet || command == TextCommand::kAdd ||
           command == TextCommand::kReplace || command == TextCommand::kAppend ||
           command == TextCommand::kPrepend || command == TextCommand::kCas ||
           command == TextCommand::kMetaSet;
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
