#pragma once
// The memcached text-protocol parser: a pure function of the bytes received so far. It never
// touches sockets or storage; the caller decides what to do with each result (see
// server/text_session.h). Limits follow memcached 1.6.18: a line without a newline may not pass
// 2048 bytes unless it is a multiget, a key is at most 250 bytes, a line has at most 24 tokens.
#include <cstddef>
#include <string_view>

#include "protocol/key_syntax.h"
#include "protocol/text_request.h"

namespace cachet::protocol {

inline constexpr size_t kMaxPlainLine = 2048;
// memcached lets multiget lines grow without limit; cachet bounds them to keep memory bounded.
inline constexpr size_t kMaxGetLine = size_t{2} << 20;

enum class ParseStatus : uint8_t {
  kNeedMore,      // no complete line yet
  kNeedData,      // line parsed into *req (consumed = line length); the data block is incomplete
  kDone,          // *req is complete (req->error may say it is an erroneous line)
  kBadDataChunk,  // data block not followed by CRLF; consumed covers line, data and 2 bytes
  kLineTooLong,   // no newline within the limit: the connection must be closed
};

// Parses one request from the front of `input`. On kDone, kBadDataChunk and kNeedData,
// *consumed is set (for kNeedData it is the line's length, for information only).
// `scanned`, if given, is how many leading bytes of `input` are known to hold no newline: the
// search starts there, and on kNeedMore it becomes input.size() (a line arriving 16 KiB at a
// time is scanned once, not once per read).
ParseStatus ParseTextRequest(std::string_view input, TextRequest* req, size_t* consumed,
                             size_t* scanned = nullptr);

// Parses one command line (without its line terminator).
void ParseCommandLine(std::string_view line, TextRequest* req);

}  // namespace cachet::protocol
