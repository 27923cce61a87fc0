#pragma once
// The meta commands' line syntax (memcached 1.6.18): `<mc> <key> [datalen] <flags>*`, each flag
// one character with an optional token glued to it. Errors carry memcached's exact texts.
#include "protocol/text_request.h"
#include "protocol/tokenizer.h"

namespace cachet::protocol {

// An opaque token, its 'O' included, is at most 32 bytes.
inline constexpr size_t kMaxOpaqueToken = 32;

// Parses a tokenized line whose first token is a two-letter command starting with 'm'.
void ParseMetaLine(const Tokens& tk, TextRequest* req);

}  // namespace cachet::protocol
