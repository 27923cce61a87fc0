#include "protocol/text_parser.h"

#include <array>
#include <cstring>
#include <limits>
#include <new>
#include <type_traits>

#include "common/numbers.h"
#include "protocol/meta_parser.h"
#include "protocol/operator_parser.h"
#include "protocol/tokenizer.h"

namespace cachet::protocol {
namespace {

bool BadKey(std::string_view key) { return !KeyIsValid(key); }

bool ParseExptime(std::string_view token, int32_t* out) {
  int64_t v;
  if (!common::ParseI64(token, &v)) return false;
  *out = static_cast<int32_t>(v);  // memcached's strtol-into-int32 truncation (4294967295 -> -1)
  return true;
}

// memcached's set_noreply_maybe: the last token decides.
bool NoReply(const Tokens& tk) { return tk.count >= 2 && tk.t[tk.count - 2] == "noreply"; }

void ParseStorage(const Tokens& tk, TextRequest* req) {
  const bool is_cas = req->command == TextCommand::kCas;
  const size_t base = is_cas ? 7 : 6;
  if (tk.count != base && tk.count != base + 1) {
    req->error = TextError::kUnknownCommand;
    return;
  }
  req->noreply = NoReply(tk);
  req->key = tk.t[1];
  if (BadKey(req->key)) {
    req->error = TextError::kBadFormat;
    return;
  }
  uint64_t flags;
  // Unlike memcached, flags and lengths >= 2^32 are refused instead of silently wrapped.
  if (!common::ParseUnsignedMax(tk.t[2], std::numeric_limits<uint32_t>::max(), &flags) ||
      !ParseExptime(tk.t[3], &req->exptime)) {
    req->error = TextError::kBadFormat;
    return;
  }
  int64_t len;
  if (!common::ParseI64(tk.t[4], &len) || len < 0 ||
      len > std::numeric_limits<int32_t>::max() - 2) {
    req->error = TextError::kBadFormat;
    return;
  }
  if (is_cas && !common::ParseU64(tk.t[5], &req->cas)) {
    req->error = TextError::kBadFormat;
    return;
  }
  req->flags = static_cast<uint32_t>(flags);
  req->bytes = static_cast<uint32_t>(len);
}

void ParseGet(const Tokens& tk, TextRequest* req) {
  if (tk.count < 3) {
    req->error = TextError::kUnknownCommand;
    return;
  }
  req->keys = tk.rest;
  if (req->command == TextCommand::kGat || req->command == TextCommand::kGats) {
    if (!ParseExptime(tk.t[1], &req->exptime)) {
      req->error = TextError::kInvalidExptime;
      return;
    }
    NextKey(&req->keys);  // skip the exptime token
  }
}

void ParseDelete(const Tokens& tk, TextRequest* req) {
  if (tk.count < 3 || tk.count > 5) {
    req->error = TextError::kUnknownCommand;
    return;
  }
  if (tk.count > 3) {
    const bool hold_is_zero = tk.t[2] == "0";
    const bool noreply = NoReply(tk);
    const bool valid =
        (tk.count == 4 && (hold_is_zero || noreply)) || (tk.count == 5 && hold_is_zero && noreply);
    req->noreply = noreply;
    if (!valid) {
      req->error = TextError::kBadDeleteFormat;
      return;
    }
  }
  req->key = tk.t[1];
  if (BadKey(req->key)) req->error = TextError::kBadFormat;
}

void ParseArith(const Tokens& tk, TextRequest* req) {
  if (tk.count != 4 && tk.count != 5) {
    req->error = TextError::kUnknownCommand;
    return;
  }
  req->noreply = NoReply(tk);
  req->key = tk.t[1];
  if (BadKey(req->key)) {
    req->error = TextError::kBadFormat;
    return;
  }
  if (!common::ParseU64(tk.t[2], &req->delta)) req->error = TextError::kInvalidDelta;
}

void ParseTouch(const Tokens& tk, TextRequest* req) {
  if (tk.count != 4 && tk.count != 5) {
    req->error = TextError::kUnknownCommand;
    return;
  }
  req->noreply = NoReply(tk);
  req->key = tk.t[1];
  if (BadKey(req->key)) {
    req->error = TextError::kBadFormat;
    return;
  }
  if (!ParseExptime(tk.t[2], &req->exptime)) req->error = TextError::kInvalidExptime;
}

void ParseFlushAll(const Tokens& tk, TextRequest* req) {
  if (tk.count < 2 || tk.count > 4) {
    req->error = TextError::kUnknownCommand;
    return;
  }
  req->noreply = NoReply(tk);
  if (tk.count != (req->noreply ? 3u : 2u)) {
    int32_t delay;
    if (!ParseExptime(tk.t[1], &delay)) {
      req->error = TextError::kInvalidExptime;
      return;
    }
    req->number = delay;
    req->has_number = true;
  }
}

// flush_prefix <prefix> [noreply]: the prefix follows the key rules; none is a format error.
void ParseFlushPrefix(const Tokens& tk, TextRequest* req) {
  req->noreply = tk.count == 4 && NoReply(tk);
  if ((tk.count != 3 && !req->noreply) || BadKey(tk.t[1])) {
    req->error = TextError::kBadFormat;
    return;
  }
  req->key = tk.t[1];
}

void ParseVerbosity(const Tokens& tk, TextRequest* req) {
  if (tk.count != 3 && tk.count != 4) {
    req->error = TextError::kUnknownCommand;
    return;
  }
  req->noreply = NoReply(tk);
  uint64_t level;
  if (!common::ParseU64(tk.t[1], &level)) {
    req->error = TextError::kBadFormat;
    return;
  }
  req->number = static_cast<int64_t>(level);
  req->has_number = true;
}

void ParseDebugTime(const Tokens& tk, TextRequest* req) {
  if (tk.count != 3 || !common::ParseI64(tk.t[1], &req->number)) {
    req->error = TextError::kBadFormat;
    return;
  }
  req->has_number = true;
}

struct CommandName {
  std::string_view name;
  TextCommand command;
};
constexpr CommandName kCommands[] = {
    {"get", TextCommand::kGet},
    {"gets", TextCommand::kGets},
    {"gat", TextCommand::kGat},
    {"gats", TextCommand::kGats},
    {"bget", TextCommand::kGet},
    {"set", TextCommand::kSet},
    {"add", TextCommand::kAdd},
    {"replace", TextCommand::kReplace},
    {"append", TextCommand::kAppend},
    {"prepend", TextCommand::kPrepend},
    {"cas", TextCommand::kCas},
    {"delete", TextCommand::kDelete},
    {"incr", TextCommand::kIncr},
    {"decr", TextCommand::kDecr},
    {"touch", TextCommand::kTouch},
    {"flush_all", TextCommand::kFlushAll},
    {"version", TextCommand::kVersion},
    {"verbosity", TextCommand::kVerbosity},
    {"quit", TextCommand::kQuit},
    {"stats", TextCommand::kStats},
    {"debugtime", TextCommand::kDebugTime},
    {"shutdown", TextCommand::kShutdown},
    {"lru_crawler", TextCommand::kLruCrawler},
    {"cache_memlimit", TextCommand::kCacheMemlimit},
    {"watch", TextCommand::kWatch},
    {"snapshot", TextCommand::kSnapshot},
    {"slabs", TextCommand::kSlabs},
    {"lru", TextCommand::kLru},
    {"refresh_certs", TextCommand::kRefreshCerts},
    {"flush_prefix", TextCommand::kFlushPrefix},
};

}  // namespace

void ParseCommandLine(std::string_view line, TextRequest* req) {
  // Default- rather than value-initialised: `TextRequest{}` would zero and copy the whole ~1 KB
  // struct, key_storage included, for every request.
  static_assert(std::is_trivially_destructible_v<TextRequest>);
  ::new (req) TextRequest;
  Tokens tk;
  Tokenize(line, &tk);
  // No command is shorter than two bytes.
  if (tk.count < 2 || tk.t[0].size() < 2) {
    req->error = TextError::kUnknownCommand;
    return;
  }
  if (tk.t[0].size() == 2 && tk.t[0][0] == 'm') {
    ParseMetaLine(tk, req);
    return;
  }
  const CommandName* found = nullptr;
  for (const auto& c : kCommands) {
    if (c.name == tk.t[0]) {
      found = &c;
      break;
    }
  }
  if (found == nullptr) {
    // memcached hangs up on what looks like an HTTP request instead of answering ERROR.
    req->error = tk.count >= 2 && tk.t[tk.count - 2].starts_with("HTTP/")
                     ? TextError::kCloseConnection
                     : TextError::kUnknownCommand;
    return;
  }
  req->command = found->command;
  switch (req->command) {
    case TextCommand::kGet:
    case TextCommand::kGets:
    case TextCommand::kGat:
    case TextCommand::kGats:
      ParseGet(tk, req);
      break;
    case TextCommand::kSet:
    case TextCommand::kAdd:
    case TextCommand::kReplace:
    case TextCommand::kAppend:
    case TextCommand::kPrepend:
    case TextCommand::kCas:
      ParseStorage(tk, req);
      break;
    case TextCommand::kDelete:
      ParseDelete(tk, req);
      break;
    case TextCommand::kIncr:
    case TextCommand::kDecr:
      ParseArith(tk, req);
      break;
    case TextCommand::kTouch:
      ParseTouch(tk, req);
      break;
    case TextCommand::kFlushAll:
      ParseFlushAll(tk, req);
      break;
    case TextCommand::kFlushPrefix:
      ParseFlushPrefix(tk, req);
      break;
    case TextCommand::kVerbosity:
      ParseVerbosity(tk, req);
      break;
    case TextCommand::kStats:
    case TextCommand::kShutdown:
    case TextCommand::kLruCrawler:
    case TextCommand::kCacheMemlimit:
    case TextCommand::kWatch:
    case TextCommand::kSnapshot:
    case TextCommand::kSlabs:
      ParseOperatorArgs(tk, req);
      break;
    case TextCommand::kLru:  // refused whatever their arguments
      break;
    case TextCommand::kRefreshCerts:  // other arguments are ignored, as in memcached
      req->noreply = NoReply(tk);
      break;
    case TextCommand::kDebugTime:
      ParseDebugTime(tk, req);
      break;
    case TextCommand::kVersion:
    case TextCommand::kQuit:
    default:
      break;
  }
}

ParseStatus ParseTextRequest(std::string_view input, TextRequest* req, size_t* consumed,
                             size_t* scanned) {
  const size_t from = scanned != nullptr && *scanned <= input.size() ? *scanned : 0;
  const size_t nl = input.find('\n', from);
  if (scanned != nullptr) *scanned = nl == std::string_view::npos ? input.size() : 0;
  if (nl == std::string_view::npos) {
    if (input.size() <= kMaxPlainLine) return ParseStatus::kNeedMore;
    // Only a multiget may be this long (memcached allows up to 100 leading spaces).
    size_t i = 0;
    while (i < input.size() && input[i] == ' ') ++i;
    const std::string_view head = input.substr(i);
    const bool multiget = i <= 100 && (head.starts_with("get ") || head.starts_with("gets "));
    if (!multiget || input.size() > kMaxGetLine) return ParseStatus::kLineTooLong;
    return ParseStatus::kNeedMore;
  }
  std::string_view line = input.substr(0, nl);
  // memcached strips a CR only when something precedes it.
  if (line.size() > 1 && line.back() == '\r') line.remove_suffix(1);
  const size_t line_len = nl + 1;
  ParseCommandLine(line, req);
  if (req->error != TextError::kNone || !req->is_storage()) {
    *consumed = line_len;
    return ParseStatus::kDone;
  }
  *consumed = line_len;
  const size_t total = line_len + size_t{req->bytes} + 2;
  if (input.size() < total) return ParseStatus::kNeedData;
  req->data = input.substr(line_len, req->bytes);
  *consumed = total;
  if (input[total - 2] != '\r' || input[total - 1] != '\n') return ParseStatus::kBadDataChunk;
  return ParseStatus::kDone;
}

}  // namespace cachet::protocol
