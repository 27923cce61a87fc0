#include "protocol/key_lookahead.h"

#include <charconv>

namespace cachet::protocol {
namespace {

std::string_view NextToken(std::string_view* line) {
  size_t i = 0;
  while (i < line->size() && (*line)[i] == ' ') ++i;
  size_t j = i;
  while (j < line->size() && (*line)[j] != ' ') ++j;
  const std::string_view token = line->substr(i, j - i);
  line->remove_prefix(j);
  return token;
}

}  // namespace

size_t LookAheadKeys(std::string_view input, size_t max_keys,
                     common::FunctionRef<void(std::string_view)> fn) {
  size_t found = 0;
  size_t requests = 0;
  while (found < max_keys) {
    const size_t nl = input.find('\n');
    if (nl == std::string_view::npos) break;
    std::string_view line = input.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    input.remove_prefix(nl + 1);
    const std::string_view cmd = NextToken(&line);
    if (cmd == "get" || cmd == "gets" || cmd == "gat" || cmd == "gats") {
      if (cmd[1] == 'a') NextToken(&line);  // gat(s) <exptime> <keys>
      std::string_view k = NextToken(&line);
      for (; !k.empty() && found < max_keys; k = NextToken(&line)) {
        fn(k);
        ++found;
      }
      if (!k.empty()) break;  // keys left over: this request is only partly covered
      ++requests;
      continue;
    }
    if (cmd == "mg") {
      const std::string_view k = NextToken(&line);
      if (k.empty()) break;
      fn(k);
      ++found;
      ++requests;
      continue;
    }
    // Storage commands: the key, then skip the data block by its length.
    const bool ms = cmd == "ms";
    if (!ms && cmd != "set" && cmd != "add" && cmd != "replace") break;
    const std::string_view key = NextToken(&line);
    std::string_view len_token = NextToken(&line);
    if (!ms) {
      NextToken(&line);  // exptime
      len_token = NextToken(&line);
    }
    size_t len = 0;
    const auto [end, ec] =
        std::from_chars(len_token.data(), len_token.data() + len_token.size(), len);
    if (key.empty() || ec != std::errc() || end != len_token.data() + len_token.size()) break;
    fn(key);
    ++found;
    if (len > input.size() || input.size() - len < 2) break;  // its data has not all arrived
    input.remove_prefix(len + 2);
    ++requests;
  }
  return requests;
}

}  // namespace cachet::protocol
