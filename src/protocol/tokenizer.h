#pragma once
// memcached's command-line tokenizer, shared by the classic and meta text commands.
#include <array>
#include <cstddef>
#include <string_view>

namespace cachet::protocol {

// memcached tokenizes at most 23 tokens; a longer line leaves its rest in a final token that no
// fixed-arity command accepts. `count` mirrors memcached's ntokens (tokens + terminal marker).
inline constexpr size_t kMaxTokens = 24;

struct Tokens {
  std::array<std::string_view, kMaxTokens> t;
  size_t count = 0;       // memcached's ntokens: real tokens + 1
  std::string_view rest;  // what follows the first token (for get-family and stats)
};

inline void Tokenize(std::string_view line, Tokens* out) {
  size_t n = 0;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    if (i == line.size()) break;
    if (n == kMaxTokens - 1) {  // the remainder stays unparsed, as in memcached
      out->t[n] = line.substr(i);
      ++n;
      break;
    }
    size_t j = i;
    while (j < line.size() && line[j] != ' ') ++j;
    out->t[n++] = line.substr(i, j - i);
    if (n == 1) out->rest = line.substr(j);
    i = j;
  }
  // A line with more than 23 tokens counts as 24 (its remainder is the terminal token).
  out->count = n >= kMaxTokens ? kMaxTokens : n + 1;
}

}  // namespace cachet::protocol
