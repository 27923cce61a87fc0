#include "protocol/meta_parser.h"

#include <limits>

#include "common/base64.h"
#include "common/numbers.h"
#include "protocol/text_parser.h"

namespace cachet::protocol {
namespace {

constexpr std::string_view kBadFormat = "CLIENT_ERROR bad command line format";
constexpr std::string_view kBadToken = "CLIENT_ERROR bad token in command line format";

void Fail(TextRequest* req, std::string_view text) {
  if (req->error == TextError::kNone) {
    req->error = TextError::kMeta;
    req->meta_error = text;
  }
}

bool ParseTtl(std::string_view token, int32_t* out) {
  int64_t v;
  if (!common::ParseI64(token, &v)) return false;
  *out = static_cast<int32_t>(v);  // memcached's strtol-into-int32
  return true;
}

// memcached's _meta_flag_preparse: every flag once, each flag's token checked.
void ParseFlags(const Tokens& tk, size_t first, TextRequest* req) {
  MetaFlags& m = req->meta;
  bool seen[128] = {};
  for (size_t i = first; i + 1 < tk.count; ++i) {
    const std::string_view token = tk.t[i];
    const auto c = static_cast<unsigned char>(token[0]);
    if (c >= 127 || seen[c]) {
      Fail(req, "CLIENT_ERROR duplicate flag");
      return;
    }
    seen[c] = true;
    m.tokens[m.count++] = token;
    const std::string_view arg = token.substr(1);
    switch (c) {
      case 'b':
        m.base64 = true;
        break;
      case 'N':
        m.has_vivify = true;
        if (!ParseTtl(arg, &m.vivify_ttl)) Fail(req, kBadToken);
        break;
      case 'T':
        m.has_ttl = true;
        if (!ParseTtl(arg, &m.ttl)) Fail(req, kBadToken);
        break;
      case 'R':
        m.has_recache = true;
        if (!ParseTtl(arg, &m.recache_ttl)) Fail(req, kBadToken);
        break;
      case 'O':
        m.opaque = token;
        if (arg.size() > kMaxOpaqueLength) Fail(req, "CLIENT_ERROR opaque token too long");
        break;
      case 'P':
      case 'L':
      case 'k':
      case 's':
      case 't':
      case 'c':
      case 'f':
      case 'h':
      case 'l':
        break;
      case 'v':
        m.value = true;
        break;
      case 'u':
        m.no_bump = true;
        break;
      case 'q':
        m.quiet = true;
        break;
      case 'I':
        m.invalidate = true;
        break;
      case 'F': {
        uint64_t v;
        if (!common::ParseUnsignedMax(arg, std::numeric_limits<uint32_t>::max(), &v)) {
          Fail(req, kBadToken);
        }
        m.client_flags = static_cast<uint32_t>(v);
        break;
      }
      case 'C':
        m.has_cas = true;
        if (!common::ParseU64(arg, &m.cas)) Fail(req, kBadToken);
        break;
      case 'M':
        if (token.size() != 2) {
          Fail(req, "CLIENT_ERROR incorrect length for M token");
        } else {
          m.mode = token[1];
        }
        break;
      case 'J':
        if (!common::ParseU64(arg, &m.initial))
          Fail(req, "CLIENT_ERROR invalid numeric initial value");
        break;
      case 'D':
        if (!common::ParseU64(arg, &m.delta)) Fail(req, "CLIENT_ERROR invalid numeric delta value");
        break;
      default:
        Fail(req, "CLIENT_ERROR invalid flag");
        return;
    }
  }
}

}  // namespace

void ParseMetaLine(const Tokens& tk, TextRequest* req) {
  switch (tk.t[0][1]) {
    case 'g':
      req->command = TextCommand::kMetaGet;
      break;
    case 's':
      req->command = TextCommand::kMetaSet;
      break;
    case 'd':
      req->command = TextCommand::kMetaDelete;
      break;
    case 'a':
      req->command = TextCommand::kMetaArith;
      break;
    case 'n':
      req->command = TextCommand::kMetaNoop;
      return;
    case 'e':
      req->command = TextCommand::kMetaDebug;
      break;
    default:
      req->error = TextError::kUnknownCommand;
      return;
  }
  if (tk.count < 3) {
    // memcached: a keyless me is a format error, the others are unknown commands.
    if (req->command == TextCommand::kMetaDebug) {
      Fail(req, kBadFormat);
    } else {
      req->error = TextError::kUnknownCommand;
    }
    return;
  }
  if (tk.t[1].size() > kMaxKeyLength) {
    Fail(req, kBadFormat);
    return;
  }
  size_t first_flag = 2;
  if (req->command == TextCommand::kMetaSet) {
    if (tk.count < 4) {
      Fail(req, kBadFormat);
      return;
    }
    int64_t len;
    if (!common::ParseI64(tk.t[2], &len) || static_cast<int32_t>(len) < 0 ||
        static_cast<int32_t>(len) > std::numeric_limits<int32_t>::max() - 2) {
      Fail(req, kBadFormat);
      return;
    }
    req->bytes = static_cast<uint32_t>(static_cast<int32_t>(len));
    req->meta_data_follows = true;  // from here on, an error still discards the data block
    first_flag = 3;
  }
  if (req->command == TextCommand::kMetaDebug) {
    // me takes only `b`.
    req->meta.base64 = tk.count > 3 && tk.t[2] == "b";
  } else {
    ParseFlags(tk, first_flag, req);
    // ma reports every flag problem with one text.
    if (req->command == TextCommand::kMetaArith && req->error == TextError::kMeta) {
      req->meta_error = "CLIENT_ERROR invalid or duplicate flag";
    }
  }
  req->flags = req->meta.client_flags;
  std::string_view key = tk.t[1];
  if (req->meta.base64) {
    const size_t n = common::Base64Decode(key, req->key_storage);
    if (n == 0) {
      Fail(req, "CLIENT_ERROR error decoding key");
    }
    key = std::string_view(req->key_storage, n);
  } else if (!KeyIsValid(key)) {
    Fail(req, kBadFormat);
  }
  req->key = key;
}

}  // namespace cachet::protocol
