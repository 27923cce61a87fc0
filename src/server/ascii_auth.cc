#include "server/ascii_auth.h"

#include <array>
#include <string_view>

#include "protocol/text_reply.h"

namespace cachet::server {
namespace {

// memcached's tokenize_command: split on spaces only (a tab or CR stays in its token).
size_t Tokenize(std::string_view line, std::array<std::string_view, 6>* tokens) {
  size_t n = 0;
  size_t i = 0;
  while (i < line.size() && n < tokens->size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    const size_t start = i;
    while (i < line.size() && line[i] != ' ') ++i;
    if (i > start) (*tokens)[n++] = line.substr(start, i - start);
  }
  return n;
}

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
        return input.size() > kMaxLine ? SessionAction::kClose : SessionAction::kContinue;
      }
      std::array<std::string_view, 6> tokens;
      const size_t n = Tokenize(input.substr(0, nl), &tokens);
      uint64_t len = 0;
      const bool auth = n >= 5 && tokens[0] == "set" && ParseLength(tokens[4], &len);
      in.Consume(nl + 1);
      if (!auth) {
        out.Append(protocol::kUnauthenticated);
        continue;
      }
      // Credentials are short: a client announcing more is not one to buffer for.
      if (len > kMaxLine) return SessionAction::kClose;
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
    std::array<std::string_view, 6> tokens;
    if (!payload.ends_with("\r\n")) {
      out.Append(protocol::kBadLineTermination);
    } else if (Tokenize(payload.substr(0, payload_len_), &tokens) < 2) {
      out.Append(protocol::kBadAuthTokenFormat);
    } else if (file_->Check(tokens[0], tokens[1])) {
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
