#pragma once
// The byte layout of one item inside a segment. Items are packed back to back with no padding:
//
//   meta:u8  key_len:u8  value_len:varint  [flags:varint]  [exptime:u32le]  [cas:varint]  key value
//
// `flags` is present only when non-zero and `exptime` only when the item expires, so a small item
// without either carries 3 bytes of header. CAS is normally not stored: it is derived from where
// the item was written (see segment_pool.h). Only a version that moves without changing (touch
// adding an exptime field, eviction moving a recently read item) stores the CAS it had, as a
// varint: a CAS is (segment epoch << log2(segment size)) | offset, so with 1 MiB segments it
// takes 5 bytes for the first 32 GiB ever written, 6 up to 4 TiB, 7 up to 512 TiB.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace cachet::storage {

namespace item_meta {
inline constexpr uint8_t kHasFlags = 1u << 0;
inline constexpr uint8_t kHasExptime = 1u << 1;
inline constexpr uint8_t kHasCas = 1u << 2;
}  // namespace item_meta

// A byte that is not an item: fills the gaps eviction leaves, and a segment scan skips it. No
// item's meta byte has its high bits set.
inline constexpr uint8_t kPadByte = 0xff;

inline constexpr size_t kMaxItemHeader = 1 + 1 + 5 + 5 + 4 + 10;
inline constexpr size_t kMaxKeyLength = 250;

struct ItemFields {
  std::string_view key;
  uint32_t value_len = 0;
  uint32_t flags = 0;
  uint32_t exptime = 0;  // server time (see Store); 0 = never expires
  uint64_t cas = 0;      // 0 = derived from the location
};

// A decoded header that points into segment memory.
struct ItemRef {
  uint8_t* base = nullptr;  // the meta byte
  uint8_t meta = 0;
  uint32_t header_len = 0;
  uint32_t exptime_offset = 0;  // offset of the exptime field from base, 0 if absent
  uint64_t stored_cas = 0;      // 0 when the CAS is derived from the location
  std::string_view key;
  uint32_t value_len = 0;
  uint32_t flags = 0;

  const char* value() const { return key.data() + key.size(); }
  uint32_t total_size() const { return header_len + static_cast<uint32_t>(key.size()) + value_len; }
};

size_t EncodedHeaderSize(const ItemFields& f);
inline size_t EncodedSize(const ItemFields& f) {
  return EncodedHeaderSize(f) + f.key.size() + f.value_len;
}

// Writes the header only (f.key gives just its length); returns where the key goes.
uint8_t* EncodeHeader(const ItemFields& f, uint8_t* dst);

// Writes header and key at `dst`; returns a pointer where value_len value bytes go.
uint8_t* EncodeHeaderAndKey(const ItemFields& f, uint8_t* dst);

// Decodes the item at `p`. Segment contents are written only by this process, so no bounds
// checks beyond the caller's: the format is trusted. Everything it reads is immutable once the
// item is published, so eviction may decode without the shard lock; the exptime (which touch
// rewrites in place) is read separately, under the lock.
ItemRef DecodeItem(uint8_t* p);

// Decodes an item from bytes that need not be trusted (a snapshot file): false unless a
// well-formed item — meta bits known, a 1-250 byte key, canonical varints, flags and stored CAS
// present only when non-zero — fits entirely in the `avail` bytes at `p`.
bool DecodeItemChecked(uint8_t* p, size_t avail, ItemRef* out);

inline uint32_t LoadExptime(const ItemRef& item) {
  if (item.exptime_offset == 0) return 0;
  uint32_t v;
  std::memcpy(&v, item.base + item.exptime_offset, sizeof(v));
  return v;
}

// Rewrites an existing exptime field in place.
inline void StoreExptime(const ItemRef& item, uint32_t exptime) {
  std::memcpy(item.base + item.exptime_offset, &exptime, sizeof(exptime));
}

}  // namespace cachet::storage
