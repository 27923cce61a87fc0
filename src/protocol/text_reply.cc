#include "protocol/text_reply.h"

#include <cstring>

#include "common/numbers.h"

namespace cachet::protocol {

using common::Outcome;

std::string_view OutcomeReply(Outcome outcome) {
  switch (outcome) {
    case Outcome::kStored:
      return "STORED\r\n";
    case Outcome::kNotStored:
      return "NOT_STORED\r\n";
    case Outcome::kExists:
      return "EXISTS\r\n";
    case Outcome::kNotFound:
      return "NOT_FOUND\r\n";
    case Outcome::kDeleted:
      return "DELETED\r\n";
    case Outcome::kTouched:
      return "TOUCHED\r\n";
    case Outcome::kTooLarge:
      return kTooLarge;
    case Outcome::kNoMemory:
      return kOutOfMemoryStoring;
    case Outcome::kNonNumeric:
      return kNonNumeric;
  }
  return kError;
}

std::string_view ErrorReply(TextError error) {
  switch (error) {
    case TextError::kNone:
      return {};
    case TextError::kUnknownCommand:
      return kError;
    case TextError::kBadFormat:
      return kBadFormat;
    case TextError::kBadDeleteFormat:
      return "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n";
    case TextError::kInvalidExptime:
      return "CLIENT_ERROR invalid exptime argument\r\n";
    case TextError::kInvalidDelta:
      return "CLIENT_ERROR invalid numeric delta argument\r\n";
    case TextError::kCloseConnection:
    case TextError::kMeta:  // its text is in TextRequest::meta_error
      return {};
  }
  return kError;
}

size_t FormatValueHeader(char* dst, std::string_view key, uint32_t flags, uint32_t bytes,
                         bool with_cas, uint64_t cas) {
  char* p = dst;
  std::memcpy(p, "VALUE ", 6);
  p += 6;
  std::memcpy(p, key.data(), key.size());
  p += key.size();
  *p++ = ' ';
  p += common::FormatU64(flags, p);
  *p++ = ' ';
  p += common::FormatU64(bytes, p);
  if (with_cas) {
    *p++ = ' ';
    p += common::FormatU64(cas, p);
  }
  *p++ = '\r';
  *p++ = '\n';
  return static_cast<size_t>(p - dst);
}

}  // namespace cachet::protocol
