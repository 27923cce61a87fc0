#include "noop_server/noop_session.h"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace cachet::bench {
namespace {

constexpr size_t kMaxTokens = 24;
constexpr std::string_view kStored = "STORED\r\n";
constexpr std::string_view kHd = "HD\r\n";

size_t Tokenize(std::string_view line, std::string_view* tokens) {
  size_t n = 0;
  size_t i = 0;
  while (i < line.size() && n < kMaxTokens) {
    while (i < line.size() && line[i] == ' ') ++i;
    const size_t start = i;
    while (i < line.size() && line[i] != ' ') ++i;
    if (i > start) tokens[n++] = line.substr(start, i - start);
  }
  return n;
}

bool ParseU64(std::string_view s, uint64_t* v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

NoopSession::NoopSession(size_t value_size, NoopCounters& mine, std::span<const NoopCounters> all)
    : value_size_(value_size), mine_(mine), all_(all) {
  const std::string n = std::to_string(value_size);
  tail_ = " 0 " + n + "\r\n";
  tail_cas_ = " 0 " + n + " 1\r\n";
  va_ = "VA " + n + "\r\n";
  pad_ = std::string(value_size, '.') + "\r\n";
}

void NoopSession::AppendValue(std::string_view key, bool with_cas, std::string* out) const {
  const size_t k = std::min(key.size(), value_size_);
  out->append("VALUE ", 6);
  out->append(key);
  out->append(with_cas ? tail_cas_ : tail_);
  out->append(key.data(), k);
  out->append(pad_.data() + k, pad_.size() - k);
}

void NoopSession::AppendStats(std::string* out) const {
  uint64_t gets = 0, sets = 0, conns = 0;
  for (const NoopCounters& c : all_) {
    gets += c.get_keys.load(std::memory_order_relaxed);
    sets += c.sets.load(std::memory_order_relaxed);
    conns += c.connections.load(std::memory_order_relaxed);
  }
  gets += get_keys_;  // this batch's, not yet published
  sets += sets_;
  *out += "STAT cmd_get " + std::to_string(gets) + "\r\nSTAT cmd_set " + std::to_string(sets) +
          "\r\nSTAT get_hits " + std::to_string(gets) + "\r\nSTAT curr_connections " +
          std::to_string(conns) + "\r\nSTAT evictions 0\r\nEND\r\n";
}

bool NoopSession::HandleLine(std::string_view line, std::string* out) {
  std::string_view tk[kMaxTokens];
  const size_t n = Tokenize(line, tk);
  if (n == 0) {
    out->append("ERROR\r\n");
    return true;
  }
  const std::string_view cmd = tk[0];
  if (cmd == "get" || cmd == "gets") {
    for (size_t i = 1; i < n; ++i) AppendValue(tk[i], cmd.size() == 4, out);
    // Keys past the token limit are still answered: multigets may be long.
    if (n == kMaxTokens) {
      std::string_view rest = line.substr(tk[n - 1].data() + tk[n - 1].size() - line.data());
      while (!rest.empty()) {
        const size_t s = rest.find_first_not_of(' ');
        if (s == std::string_view::npos) break;
        rest.remove_prefix(s);
        const size_t e = std::min(rest.find(' '), rest.size());
        AppendValue(rest.substr(0, e), cmd.size() == 4, out);
        ++get_keys_;
        rest.remove_prefix(e);
      }
    }
    get_keys_ += n - 1;
    out->append("END\r\n");
  } else if (cmd == "mg" && n >= 2) {
    ++get_keys_;
    bool value = false;
    for (size_t i = 2; i < n; ++i) value |= tk[i][0] == 'v';
    if (value) {
      const size_t k = std::min(tk[1].size(), value_size_);
      out->append(va_);
      out->append(tk[1].data(), k);
      out->append(pad_.data() + k, pad_.size() - k);
    } else {
      out->append(kHd);
    }
  } else if (cmd == "ms" && n >= 3) {
    uint64_t len;
    if (!ParseU64(tk[2], &len)) return false;
    bool quiet = false;
    for (size_t i = 3; i < n; ++i) quiet |= tk[i] == "q";
    ++sets_;
    skip_ = len + 2;
    skip_reply_ = quiet ? std::string_view() : kHd;
  } else if ((cmd == "set" || cmd == "add" || cmd == "replace" || cmd == "append" ||
              cmd == "prepend" || cmd == "cas") &&
             n >= 5) {
    uint64_t len;
    if (!ParseU64(tk[4], &len)) return false;
    const size_t noreply_at = cmd == "cas" ? 6 : 5;
    ++sets_;
    skip_ = len + 2;
    skip_reply_ = n > noreply_at && tk[noreply_at] == "noreply" ? std::string_view() : kStored;
  } else if (cmd == "mn") {
    out->append("MN\r\n");
  } else if (cmd == "stats") {
    AppendStats(out);
  } else if (cmd == "version") {
    out->append("VERSION 1.6.18-noop\r\n");
  } else if (cmd == "quit") {
    return false;
  } else {
    out->append("ERROR\r\n");
  }
  return true;
}

size_t NoopSession::Process(std::string_view in, std::string* out, bool* close) {
  size_t pos = 0;
  while (pos < in.size()) {
    if (skip_ > 0) {
      const size_t take = static_cast<size_t>(std::min<uint64_t>(skip_, in.size() - pos));
      pos += take;
      skip_ -= take;
      if (skip_ > 0) break;
      out->append(skip_reply_);
      continue;
    }
    const void* nl = std::memchr(in.data() + pos, '\n', in.size() - pos);
    if (nl == nullptr) break;
    const size_t end = static_cast<const char*>(nl) - in.data();
    const size_t line_end = end > pos && in[end - 1] == '\r' ? end - 1 : end;
    if (!HandleLine(in.substr(pos, line_end - pos), out)) {
      *close = true;
      pos = end + 1;
      break;
    }
    pos = end + 1;
  }
  if (get_keys_ != 0) mine_.get_keys.fetch_add(get_keys_, std::memory_order_relaxed);
  if (sets_ != 0) mine_.sets.fetch_add(sets_, std::memory_order_relaxed);
  get_keys_ = sets_ = 0;
  return pos;
}

}  // namespace cachet::bench
