#include "common/base64.h"

#include <cstdint>

namespace cachet::common {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

size_t Base64Decode(std::string_view in, char* out) {
  if (in.empty() || in.size() % 4 != 0) return 0;
  size_t n = 0;
  for (size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = in[i + j];
      if (c == '=' && i + 4 == in.size() && j >= 2) {
        v[j] = 0;
        ++pad;
        continue;
      }
      if (pad > 0) return 0;  // data after padding
      v[j] = Value(c);
      if (v[j] < 0) return 0;
    }
    const uint32_t triple = (static_cast<uint32_t>(v[0]) << 18) |
                            (static_cast<uint32_t>(v[1]) << 12) |
                            (static_cast<uint32_t>(v[2]) << 6) | static_cast<uint32_t>(v[3]);
    out[n++] = static_cast<char>(triple >> 16);
    if (pad < 2) out[n++] = static_cast<char>(triple >> 8);
    if (pad < 1) out[n++] = static_cast<char>(triple);
  }
  return n;
}

size_t Base64Encode(std::string_view in, char* out) {
  size_t n = 0;
  for (size_t i = 0; i < in.size(); i += 3) {
    const size_t left = in.size() - i;
    uint32_t triple = static_cast<uint32_t>(static_cast<unsigned char>(in[i])) << 16;
    if (left > 1) triple |= static_cast<uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8;
    if (left > 2) triple |= static_cast<unsigned char>(in[i + 2]);
    out[n++] = kAlphabet[(triple >> 18) & 63];
    out[n++] = kAlphabet[(triple >> 12) & 63];
    out[n++] = left > 1 ? kAlphabet[(triple >> 6) & 63] : '=';
    out[n++] = left > 2 ? kAlphabet[triple & 63] : '=';
  }
  return n;
}

}  // namespace cachet::common
