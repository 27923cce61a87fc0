#include "storage/item_format.h"

namespace cachet::storage {
namespace {

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

uint8_t* PutVarint(uint8_t* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<uint8_t>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<uint8_t>(v);
  return p;
}

template <typename T>
const uint8_t* GetVarint(const uint8_t* p, T* out) {
  T v = 0;
  int shift = 0;
  while (*p & 0x80) {
    v |= static_cast<T>(*p++ & 0x7f) << shift;
    shift += 7;
  }
  v |= static_cast<T>(*p++) << shift;
  *out = v;
  return p;
}

}  // namespace

size_t EncodedHeaderSize(const ItemFields& f) {
  size_t n = 2 + VarintSize(f.value_len);
  if (f.flags != 0) n += VarintSize(f.flags);
  if (f.exptime != 0) n += sizeof(uint32_t);
  if (f.cas != 0) n += VarintSize(f.cas);
  return n;
}

uint8_t* EncodeHeader(const ItemFields& f, uint8_t* dst) {
  uint8_t meta = 0;
  if (f.flags != 0) meta |= item_meta::kHasFlags;
  if (f.exptime != 0) meta |= item_meta::kHasExptime;
  if (f.cas != 0) meta |= item_meta::kHasCas;
  uint8_t* p = dst;
  *p++ = meta;
  *p++ = static_cast<uint8_t>(f.key.size());
  p = PutVarint(p, f.value_len);
  if (f.flags != 0) p = PutVarint(p, f.flags);
  if (f.exptime != 0) {
    std::memcpy(p, &f.exptime, sizeof(f.exptime));
    p += sizeof(f.exptime);
  }
  if (f.cas != 0) p = PutVarint(p, f.cas);
  return p;
}

uint8_t* EncodeHeaderAndKey(const ItemFields& f, uint8_t* dst) {
  uint8_t* p = EncodeHeader(f, dst);
  std::memcpy(p, f.key.data(), f.key.size());
  return p + f.key.size();
}

ItemRef DecodeItem(uint8_t* p) {
  ItemRef r;
  r.base = p;
  r.meta = p[0];
  const uint8_t key_len = p[1];
  const uint8_t* q = GetVarint(p + 2, &r.value_len);
  if (r.meta & item_meta::kHasFlags) q = GetVarint(q, &r.flags);
  if (r.meta & item_meta::kHasExptime) {
    r.exptime_offset = static_cast<uint32_t>(q - p);
    q += sizeof(uint32_t);
  }
  if (r.meta & item_meta::kHasCas) q = GetVarint(q, &r.stored_cas);
  r.header_len = static_cast<uint32_t>(q - p);
  r.key = std::string_view(reinterpret_cast<const char*>(q), key_len);
  return r;
}

}  // namespace cachet::storage
