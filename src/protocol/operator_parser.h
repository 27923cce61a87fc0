#pragma once
// Parses the arguments of the operator commands into TextRequest::op (operator_request.h), from
// the tokens of their line, with memcached 1.6.18's rules and error replies.
#include "protocol/text_request.h"
#include "protocol/tokenizer.h"

namespace cachet::protocol {

// `req->command` is one of kStats, kLruCrawler, kSlabs, kCacheMemlimit, kShutdown, kWatch or
// kSnapshot.
void ParseOperatorArgs(const Tokens& tk, TextRequest* req);

}  // namespace cachet::protocol
