#pragma once
// Looking ahead in pipelined text input for the keys the next requests will read or write, so
// the store can start fetching their index slots and items from memory before those requests
// run (server/text_session.cc). Only a hint: it recognises the plain forms of get, gets, gat,
// gats, set, add, replace, mg and ms, stops at anything else or at an incomplete line, and never
// decides anything about the requests themselves.
#include <cstddef>
#include <string_view>

#include "common/function_ref.h"

namespace cachet::protocol {

// Calls `fn` with up to `max_keys` keys of the complete requests at the front of `input`, in
// order. Returns how many requests had all their keys passed.
size_t LookAheadKeys(std::string_view input, size_t max_keys,
                     common::FunctionRef<void(std::string_view)> fn);

}  // namespace cachet::protocol
