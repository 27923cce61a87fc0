#include "storage/item_format.h"

#include <gtest/gtest.h>

#include <vector>

namespace cachet::storage {
namespace {

TEST(ItemFormat, RoundTripsAndStaysSmall) {
  struct C {
    uint32_t value_len, flags, exptime;
    size_t header;
  };
  for (const C& c : {C{32, 0, 0, 3}, C{100, 0, 0, 3}, C{200, 0, 0, 4}, C{5, 16, 0, 4},
                     C{5, 0, 123456, 7}, C{1u << 20, 4294967295u, 4294967295u, 2 + 3 + 5 + 4}}) {
    const std::string key = "key0123456";
    const ItemFields f{key, c.value_len, c.flags, c.exptime};
    EXPECT_EQ(EncodedHeaderSize(f), c.header);
    std::vector<uint8_t> buf(EncodedSize(f));
    uint8_t* value = EncodeHeaderAndKey(f, buf.data());
    EXPECT_EQ(static_cast<size_t>(value - buf.data()), c.header + key.size());
    const ItemRef r = DecodeItem(buf.data());
    EXPECT_EQ(r.key, key);
    EXPECT_EQ(r.value_len, c.value_len);
    EXPECT_EQ(r.flags, c.flags);
    EXPECT_EQ(LoadExptime(r), c.exptime);
    EXPECT_EQ(r.total_size(), buf.size());
    EXPECT_EQ(reinterpret_cast<const uint8_t*>(r.value()), value);
  }
}

// A stored CAS is a varint: small for the CASes a server hands out, and any 64-bit value
// round-trips.
TEST(ItemFormat, StoredCasRoundTrips) {
  struct C {
    uint64_t cas;
    size_t cas_bytes;
  };
  for (const C& c : {C{1, 1}, C{(uint64_t{1234} << 20) | 4567, 5}, C{uint64_t{1} << 35, 6},
                     C{~uint64_t{0}, 10}}) {
    const ItemFields f{"k", 7, 3, 99, c.cas};
    EXPECT_EQ(EncodedHeaderSize(f), 2 + 1 + 1 + 4 + c.cas_bytes) << c.cas;
    std::vector<uint8_t> buf(EncodedSize(f));
    EncodeHeaderAndKey(f, buf.data());
    const ItemRef r = DecodeItem(buf.data());
    EXPECT_EQ(r.stored_cas, c.cas);
    EXPECT_EQ(r.key, "k");
    EXPECT_EQ(r.value_len, 7u);
    EXPECT_EQ(r.flags, 3u);
    EXPECT_EQ(LoadExptime(r), 99u);
  }
}

}  // namespace
}  // namespace cachet::storage
