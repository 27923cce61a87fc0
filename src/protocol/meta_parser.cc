#include "protocol/meta_parser.h"

#include <limits>

#include "common/base64.h"
#include "common/numbers.h"
#include "protocol/key_syntax.h"

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

// memcached reads T, N and R with strtol into an int32 and silently wraps what does not fit;
// cachet refuses those instead, as it refuses wrapped flags and lengths (README).
bool ParseTtl(std::string_view token, int32_t* out) {
  int64_t v;
  if (!common::ParseI64(token, &v) || v < std::numeric_limits<int32_t>::min() ||
      v > std::numeric_limits<int32_t>::max()) {
    return false;
  }
  *out = static_cast<int32_t>(v);
  return true;
}

// memcached's _meta_flag_preparse: an unknown or repeated flag stops at once; a bad token
// does not, and the last message set wins (a bad F sets none: bad command line format).
void ParseFlags(const Tokens& tk, size_t first, TextRequest* req) {
  std::string_view key = tk.t[1];
  MetaFlags& m = req->meta;
  bool seen[128] = {};
  bool has_error = false;
  std::string_view message = kBadFormat;
  auto bad = [&](std::string_view text) {
    has_error = true;
    if (!text.empty()) message = text;
  };
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
      case 'b': {
        // Decoded where the flag stands, so its error competes with the others by position.
        m.base64 = true;
        const size_t n = common::Base64Decode(key, req->key_storage);
        if (n == 0) bad("CLIENT_ERROR error decoding key");
        req->key = std::string_view(req->key_storage, n);
        break;
      }
      case 'N':
        m.has_vivify = true;
        if (!ParseTtl(arg, &m.vivify_ttl)) bad(kBadToken);
        break;
      case 'T':
        m.has_ttl = true;
        if (!ParseTtl(arg, &m.ttl)) bad(kBadToken);
        break;
      case 'R':
        m.has_recache = true;
        if (!ParseTtl(arg, &m.recache_ttl)) bad(kBadToken);
        break;
      case 'O':
        m.opaque = token;
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
      case 'w':  // cachet's mp only; memcached knows no w
        if (req->command != TextCommand::kMetaPrefix) {
          Fail(req, "CLIENT_ERROR invalid flag");
          return;
        }
        m.wait = true;
        break;
      case 'F': {
        uint64_t v;
        // memcached truncates flags to 32 bits; cachet refuses them (README).
        if (!common::ParseUnsignedMax(arg, std::numeric_limits<uint32_t>::max(), &v)) {
          bad({});
        } else {
          m.client_flags = static_cast<uint32_t>(v);
        }
        break;
      }
      case 'C':
        m.has_cas = true;
        if (!common::ParseU64(arg, &m.cas)) bad(kBadToken);
        break;
      case 'M':
        if (token.size() != 2) {
          bad("CLIENT_ERROR incorrect length for M token");
        } else {
          m.mode = token[1];
        }
        break;
      case 'J':
        if (!common::ParseU64(arg, &m.initial)) bad("CLIENT_ERROR invalid numeric initial value");
        break;
      case 'D':
        if (!common::ParseU64(arg, &m.delta)) bad("CLIENT_ERROR invalid numeric delta value");
        break;
      default:
        Fail(req, "CLIENT_ERROR invalid flag");
        return;
    }
  }
  if (has_error) Fail(req, message);
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
    case 'p':
      req->command = TextCommand::kMetaPrefix;
      break;
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
  // memcached's limit of 20 tokens per meta line (command, key, [datalen,] flags, terminator).
  if (req->command != TextCommand::kMetaDebug && tk.count > 20) {
    Fail(req, req->command == TextCommand::kMetaGet ? "CLIENT_ERROR options flags are too long"
                                                    : "CLIENT_ERROR options flags too long");
    return;
  }
  size_t first_flag = 2;
  if (req->command == TextCommand::kMetaSet) {
    if (tk.count < 4) {
      Fail(req, kBadFormat);
      return;
    }
    int64_t len;
    // memcached wraps a length past 2^32 (4294967299 stores 3 bytes); cachet refuses it.
    if (!common::ParseI64(tk.t[2], &len) || len < 0 ||
        len > std::numeric_limits<int32_t>::max() - 2) {
      Fail(req, kBadFormat);
      return;
    }
    req->bytes = static_cast<uint32_t>(len);
    req->meta_data_follows = true;  // from here on, an error still discards the data block
    first_flag = 3;
  }
  if (req->command == TextCommand::kMetaDebug) {
    // me takes only `b`.
    req->meta.base64 = tk.count > 3 && tk.t[2] == "b";
  } else {
    ParseFlags(tk, first_flag, req);
  }
  if (req->command == TextCommand::kMetaPrefix) {
    // mp takes only base64 (b), stale mode (I) and its TTL (T), the wait (w), quiet (q),
    // opaque (O) and the key echo (k).
    for (size_t i = 0; i < req->meta.count; ++i) {
      const char f = req->meta.tokens[i][0];
      if (f != 'b' && f != 'I' && f != 'T' && f != 'w' && f != 'q' && f != 'O' && f != 'k') {
        Fail(req, "CLIENT_ERROR invalid flag");
      }
    }
    if (req->meta.opaque.size() > kMaxOpaqueToken) Fail(req, "CLIENT_ERROR opaque token too long");
  }
  req->flags = req->meta.client_flags;
  if (req->command == TextCommand::kMetaDebug && req->meta.base64) {
    const size_t n = common::Base64Decode(tk.t[1], req->key_storage);
    if (n == 0) Fail(req, kBadFormat);
    req->key = std::string_view(req->key_storage, n);
  } else if (!req->meta.base64) {
    req->key = tk.t[1];
    if (!KeyIsValid(req->key)) Fail(req, kBadFormat);
  }
  const bool ms_or_md =
      req->command == TextCommand::kMetaSet || req->command == TextCommand::kMetaDelete;
  // ms and md refuse a long opaque up front; mg and ma only when replying (after their effects).
  if (ms_or_md && req->meta.opaque.size() > kMaxOpaqueToken) {
    Fail(req, "CLIENT_ERROR opaque token too long");
  }
  // md and ma report every flag problem with one text.
  if ((req->command == TextCommand::kMetaArith || req->command == TextCommand::kMetaDelete) &&
      req->error == TextError::kMeta && req->meta_error != "CLIENT_ERROR opaque token too long") {
    req->meta_error = "CLIENT_ERROR invalid or duplicate flag";
  }
}

}  // namespace cachet::protocol
