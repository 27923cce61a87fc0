#include "storage/item_format.h"

#include <cstdint>

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

// A varint of at most max_bytes bytes within [p, end), in its shortest form; nullptr otherwise.
const uint8_t* GetVarintChecked(const uint8_t* p, const uint8_t* end, int max_bytes,
                                uint64_t* out) {
  uint64_t v = 0;
  for (int i = 0; i < max_bytes && p < end; ++i) {
    const uint8_t b = *p++;
    if (i == 9 && b > 1) return nullptr;  // past 64 bits
    v |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      if (b == 0 && i > 0) return nullptr;  // a longer form than needed
      *out = v;
      return p;
    }
  }
  return nullptr;
}

}  // namespace

bool DecodeItemChecked(uint8_t* p, size_t avail, ItemRef* out) {
  constexpr uint8_t kKnown = item_meta::kHasFlags | item_meta::kHasExptime | item_meta::kHasCas;
  if (avail < 3) return false;
  const uint8_t* const end = p + avail;
  const uint8_t meta = p[0];
  const uint8_t key_len = p[1];
  if ((meta & ~kKnown) != 0 || key_len == 0 || key_len > kMaxKeyLength) return false;
  uint64_t value_len = 0;
  uint64_t flags = 0;
  uint64_t cas = 0;
  const uint8_t* q = GetVarintChecked(p + 2, end, 5, &value_len);
  if (q == nullptr || value_len > UINT32_MAX) return false;
  if (meta & item_meta::kHasFlags) {
    q = GetVarintChecked(q, end, 5, &flags);
    if (q == nullptr || flags == 0 || flags > UINT32_MAX) return false;
  }
  uint32_t exptime_offset = 0;
  if (meta & item_meta::kHasExptime) {
    if (end - q < 4) return false;
    exptime_offset = static_cast<uint32_t>(q - p);
    q += 4;
  }
  if (meta & item_meta::kHasCas) {
    q = GetVarintChecked(q, end, 10, &cas);
    if (q == nullptr || cas == 0) return false;
  }
  if (static_cast<uint64_t>(end - q) < key_len + value_len) return false;
  out->base = p;
  out->meta = meta;
  out->header_len = static_cast<uint32_t>(q - p);
  out->exptime_offset = exptime_offset;
  out->stored_cas = cas;
  out->key = std::string_view(reinterpret_cast<const char*>(q), key_len);
  out->value_len = static_cast<uint32_t>(value_len);
  out->flags = static_cast<uint32_t>(flags);
  return true;
}

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
