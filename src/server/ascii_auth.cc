#include "server/ascii_auth.h"

#include <string_view>

#include "protocol/text_reply.h"
#include "protocol/tokenizer.h"

namespace cachet::server {
namespace {

// memcached's safe_strtoul: digits, then the end or white space (the line's CR). Values that
// do not fit 32 bits are refused (memcached truncates them).
bool ParseLength(std::string_view s, uint64_t* out) {
  uint64_t v = 0;
  size_t i = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    v = v * 10 + static_cast<uint64_t>(s[i] - '0');
    if (v > UINT32_MAX) return false;
  }
  if (i == 0) return false;
  if (i < s.size() && s[i] != ' ' && s[i] != '\r' && s[i] != '\t' && s[i] != '\n' && s[i] != '\v' &&
      s[i] != '\f') {
    return false;
  }
  *out = v;
  return true;
}

}  // namespace

SessionAction AsciiAuth::Process(common::ByteBuffer& in, common::ByteBuffer& out,
                                 ThreadStats& stats, size_t* wanted) {
  *wanted = 0;
  while (!authenticated_) {
    if (out.size() >= kOutputHighWater) return SessionAction::kContinue;
    if (!in_payload_) {
      const std::string_view input = in.readable();
      const size_t nl = input.find('\n');
      if (nl == std::string_view::npos) {
        return input.size() > kMaxLine ? SessionAction::kCloseOnError : SessionAction::kContinue;
      }
      // memcached tokenizes the line with its CR: "5\r" is a length, as strtoul reads it.
      protocol::Tokens tk;
      protocol::Tokenize(input.substr(0, nl), &tk);
      uint64_t len = 0;
      const bool auth = tk.count >= 6 && tk.t[0] == "set" && ParseLength(tk.t[4], &len);
      in.Consume(nl + 1);
      if (!auth) {
        out.Append(protocol::kUnauthenticated);
        continue;
      }
      // Credentials are short: a client announcing more is not one to buffer for.
      if (len > kMaxLine) return SessionAction::kCloseOnError;
      in_payload_ = true;
      payload_len_ = len;
    }
    const size_t need = static_cast<size_t>(payload_len_) + 2;
    if (in.size() < need) {
      *wanted = need;
      return SessionAction::kContinue;
    }
    const std::string_view payload = in.readable().substr(0, need);
    in_payload_ = false;
    protocol::Tokens tk;
    if (payload.ends_with("\r\n")) protocol::Tokenize(payload.substr(0, payload_len_), &tk);
    if (!payload.ends_with("\r\n")) {
      out.Append(protocol::kBadLineTermination);
    } else if (tk.count < 3) {
      out.Append(protocol::kBadAuthTokenFormat);
    } else if (file_->Check(tk.t[0], tk.t[1])) {
      authenticated_ = true;
      stats.auth_cmds.Add();
      out.Append(protocol::OutcomeReply(common::Outcome::kStored));
    } else {
      stats.auth_cmds.Add();
      stats.auth_errors.Add();
      out.Append(protocol::kAuthenticationFailure);
    }
    in.Consume(need);
  }
  return SessionAction::kContinue;
}

}  // namespace cachet::server
