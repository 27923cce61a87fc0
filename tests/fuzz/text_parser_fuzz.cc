// libFuzzer target for the text parser. Beyond "no crash", it asserts the parser's contract:
// never consumes more than it was given, keys it returns are valid memcached keys, and a storage
// request's data is exactly the declared length and followed by CRLF in the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "protocol/text_parser.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

void CheckKey(std::string_view key) {
  Check(!key.empty() && key.size() <= cachet::protocol::kMaxKeyLength);
  for (char c : key) {
    const auto u = static_cast<unsigned char>(c);
    Check(u > 0x20 && u != 0x7f);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cachet::protocol;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // Parse request after request, as a connection would.
  for (int guard = 0; guard < 10000 && !in.empty(); ++guard) {
    TextRequest req;
    size_t consumed = 0;
    const ParseStatus s = ParseTextRequest(in, &req, &consumed);
    if (s == ParseStatus::kNeedMore || s == ParseStatus::kLineTooLong) break;
    Check(consumed > 0 && consumed <= in.size());
    if (s == ParseStatus::kNeedData) {
      Check(req.is_storage() && req.error == TextError::kNone);
      Check(consumed + req.bytes + 2 > in.size());
      break;
    }
    if (req.error == TextError::kNone) {
      if ((req.is_storage() && req.command != TextCommand::kMetaSet) ||
          req.command == TextCommand::kDelete || req.command == TextCommand::kIncr ||
          req.command == TextCommand::kDecr || req.command == TextCommand::kTouch) {
        CheckKey(req.key);
      }
      if (req.is_storage()) {
        Check(req.data.size() == req.bytes);
        Check(req.data.data() + req.bytes + 2 == in.data() + consumed);
        if (s == ParseStatus::kDone) Check(in.substr(consumed - 2, 2) == "\r\n");
      }
      if (req.command == TextCommand::kMetaGet || req.command == TextCommand::kMetaDelete ||
          req.command == TextCommand::kMetaArith || req.command == TextCommand::kMetaDebug) {
        // A meta key is 1..250 bytes; base64 ones may hold any byte.
        Check(!req.key.empty() && req.key.size() <= kMaxKeyLength);
        if (!req.meta.base64) CheckKey(req.key);
        Check(req.meta.count <= 24);
        if (req.command == TextCommand::kMetaDelete) Check(req.meta.opaque.size() <= 32);
      }
      if (req.command == TextCommand::kGet || req.command == TextCommand::kGets ||
          req.command == TextCommand::kGat || req.command == TextCommand::kGats) {
        std::string_view keys = req.keys;
        for (std::string_view k = NextKey(&keys); !k.empty(); k = NextKey(&keys)) {
          Check(k.find(' ') == std::string_view::npos);  // validity is checked per key later
        }
      }
    }
    in.remove_prefix(consumed);
  }
  return 0;
}
