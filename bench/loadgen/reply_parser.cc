#include "loadgen/reply_parser.h"

#include <charconv>
#include <cstring>

#include "common/value_pattern.h"

namespace cachet::bench {
namespace {

// The next CRLF-terminated line from `pos`, or false when it has not fully arrived. A bare LF
// is malformed.
enum class Line : uint8_t { kNeedMore, kOk, kBad };
Line NextLine(std::string_view in, size_t pos, std::string_view* line, size_t* next) {
  const void* nl = std::memchr(in.data() + pos, '\n', in.size() - pos);
  if (nl == nullptr) return in.size() - pos > 4096 ? Line::kBad : Line::kNeedMore;
  const size_t end = static_cast<const char*>(nl) - in.data();
  if (end == pos || in[end - 1] != '\r') return Line::kBad;
  *line = in.substr(pos, end - 1 - pos);
  *next = end + 1;
  return Line::kOk;
}

bool IsErrorLine(std::string_view line) {
  return line == "ERROR" || line.starts_with("CLIENT_ERROR ") || line.starts_with("SERVER_ERROR ");
}

bool ParseNumber(std::string_view s, uint64_t* v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

// Splits off the next space-delimited token.
std::string_view Token(std::string_view* rest) {
  const size_t sp = rest->find(' ');
  std::string_view t = rest->substr(0, sp);
  rest->remove_prefix(sp == std::string_view::npos ? rest->size() : sp + 1);
  return t;
}

// A data block of `bytes` at `pos`, followed by CRLF.
Line DataBlock(std::string_view in, size_t pos, uint64_t bytes, std::string_view* data) {
  if (in.size() - pos < bytes + 2) return Line::kNeedMore;
  if (in[pos + bytes] != '\r' || in[pos + bytes + 1] != '\n') return Line::kBad;
  *data = in.substr(pos, bytes);
  return Line::kOk;
}

ReplyParse TextGet(std::string_view in, std::string_view keys, size_t key_size, size_t value_size,
                   ReplyOutcome* out) {
  const size_t nkeys = keys.size() / key_size;
  size_t pos = 0, next_key = 0;
  for (;;) {
    std::string_view line;
    size_t after;
    const Line l = NextLine(in, pos, &line, &after);
    if (l != Line::kOk) return l == Line::kBad ? ReplyParse::kMalformed : ReplyParse::kNeedMore;
    if (line == "END") {
      out->misses = static_cast<uint32_t>(nkeys) - out->hits;
      out->consumed = after;
      return ReplyParse::kOk;
    }
    if (IsErrorLine(line)) {
      out->error = true;
      out->consumed = after;
      return ReplyParse::kOk;
    }
    if (!line.starts_with("VALUE ")) return ReplyParse::kMalformed;
    std::string_view rest = line.substr(6);
    const std::string_view key = Token(&rest);
    uint64_t flags, bytes, cas;
    if (key.empty() || !ParseNumber(Token(&rest), &flags) || !ParseNumber(Token(&rest), &bytes)) {
      return ReplyParse::kMalformed;
    }
    if (!rest.empty() && !ParseNumber(Token(&rest), &cas)) return ReplyParse::kMalformed;
    std::string_view data;
    const Line d = DataBlock(in, after, bytes, &data);
    if (d != Line::kOk) return d == Line::kBad ? ReplyParse::kMalformed : ReplyParse::kNeedMore;
    pos = after + bytes + 2;
    // Hits come in request order; a key the request did not ask for (there) is an error.
    size_t j = next_key;
    while (j < nkeys && keys.substr(j * key_size, key_size) != key) ++j;
    if (j == nkeys) {
      out->error = true;
      continue;
    }
    next_key = j + 1;
    ++out->hits;
    if (j < 64) out->hit_mask |= uint64_t{1} << j;
    if (!ValueMatches(key, data, value_size)) out->error = true;
  }
}

ReplyParse MetaGet(std::string_view in, std::string_view key, size_t value_size,
                   ReplyOutcome* out) {
  std::string_view line;
  size_t after;
  const Line l = NextLine(in, 0, &line, &after);
  if (l != Line::kOk) return l == Line::kBad ? ReplyParse::kMalformed : ReplyParse::kNeedMore;
  out->consumed = after;
  if (line == "EN") {
    out->misses = 1;
    return ReplyParse::kOk;
  }
  if (IsErrorLine(line)) {
    out->error = true;
    return ReplyParse::kOk;
  }
  if (!line.starts_with("VA ")) return ReplyParse::kMalformed;
  std::string_view rest = line.substr(3);
  uint64_t bytes;
  if (!ParseNumber(Token(&rest), &bytes)) return ReplyParse::kMalformed;
  std::string_view data;
  const Line d = DataBlock(in, after, bytes, &data);
  if (d != Line::kOk) return d == Line::kBad ? ReplyParse::kMalformed : ReplyParse::kNeedMore;
  out->consumed = after + bytes + 2;
  out->hits = 1;
  out->hit_mask = 1;
  if (!ValueMatches(key, data, value_size)) out->error = true;
  return ReplyParse::kOk;
}

ReplyParse StoreReply(std::string_view in, bool meta, ReplyOutcome* out) {
  std::string_view line;
  size_t after;
  const Line l = NextLine(in, 0, &line, &after);
  if (l != Line::kOk) return l == Line::kBad ? ReplyParse::kMalformed : ReplyParse::kNeedMore;
  out->consumed = after;
  if (line == (meta ? "HD" : "STORED")) return ReplyParse::kOk;
  const bool refused = meta ? (line == "NS" || line == "EX" || line == "NF")
                            : (line == "NOT_STORED" || line == "EXISTS" || line == "NOT_FOUND");
  if (!refused && !IsErrorLine(line)) return ReplyParse::kMalformed;
  out->error = true;
  return ReplyParse::kOk;
}

}  // namespace

ReplyParse ParseReply(std::string_view in, ReplyKind kind, std::string_view keys, size_t key_size,
                      size_t value_size, ReplyOutcome* out) {
  *out = ReplyOutcome{};
  switch (kind) {
    case ReplyKind::kTextGet:
      return TextGet(in, keys, key_size, value_size, out);
    case ReplyKind::kMetaGet:
      return MetaGet(in, keys, value_size, out);
    case ReplyKind::kTextSet:
      return StoreReply(in, false, out);
    case ReplyKind::kMetaSet:
      return StoreReply(in, true, out);
  }
  return ReplyParse::kMalformed;
}

}  // namespace cachet::bench
