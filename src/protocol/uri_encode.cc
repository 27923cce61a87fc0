#include "protocol/uri_encode.h"

namespace cachet::protocol {
namespace {

bool Unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

}  // namespace

size_t UriEncode(char* p, std::string_view key) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  size_t n = 0;
  for (char ch : key) {
    const auto c = static_cast<unsigned char>(ch);
    if (Unreserved(c)) {
      p[n++] = ch;
    } else {
      p[n++] = '%';
      p[n++] = kHex[c >> 4];
      p[n++] = kHex[c & 15];
    }
  }
  return n;
}

void AppendUriEncoded(common::ByteBuffer& out, std::string_view key) {
  out.Commit(UriEncode(out.Reserve(key.size() * 3), key));
}

void AppendUriEncoded(std::string& out, std::string_view key) {
  const size_t old = out.size();
  out.resize(old + key.size() * 3);
  out.resize(old + UriEncode(out.data() + old, key));
}

}  // namespace cachet::protocol
