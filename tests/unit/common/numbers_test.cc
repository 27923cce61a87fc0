#include "common/numbers.h"

#include <gtest/gtest.h>

namespace cachet::common {
namespace {

TEST(Numbers, ParseU64FollowsStrtoull) {
  uint64_t v = 0;
  EXPECT_TRUE(ParseU64("18446744073709551615", &v));
  EXPECT_EQ(v, UINT64_MAX);
  EXPECT_FALSE(ParseU64("18446744073709551616", &v));
  EXPECT_TRUE(ParseU64(" 12", &v));
  EXPECT_EQ(v, 12u);
  EXPECT_TRUE(ParseU64("12  ", &v));  // a value padded by an earlier decr
  EXPECT_FALSE(ParseU64("12a", &v));
  EXPECT_FALSE(ParseU64("", &v));
  EXPECT_FALSE(ParseU64("-1", &v));
  EXPECT_TRUE(ParseU64("-0", &v));
}

TEST(Numbers, ParseI64) {
  int64_t v = 0;
  EXPECT_TRUE(ParseI64("-5", &v));
  EXPECT_EQ(v, -5);
  EXPECT_TRUE(ParseI64("+7", &v));
  EXPECT_EQ(v, 7);
  EXPECT_FALSE(ParseI64("9223372036854775808", &v));
  EXPECT_TRUE(ParseI64("-9223372036854775808", &v));
  EXPECT_FALSE(ParseI64("x", &v));
}

TEST(Numbers, ParseUnsignedMax) {
  uint64_t v = 0;
  EXPECT_TRUE(ParseUnsignedMax("4294967295", 4294967295u, &v));
  EXPECT_FALSE(ParseUnsignedMax("4294967296", 4294967295u, &v));
  EXPECT_FALSE(ParseUnsignedMax("-1", 4294967295u, &v));
  EXPECT_FALSE(ParseUnsignedMax("", 4294967295u, &v));
}

TEST(Numbers, FormatU64) {
  char buf[20];
  EXPECT_EQ(std::string(buf, FormatU64(0, buf)), "0");
  EXPECT_EQ(std::string(buf, FormatU64(UINT64_MAX, buf)), "18446744073709551615");
}

TEST(Numbers, ParseDoubleFollowsSafeStrtod) {
  double d = 0;
  EXPECT_TRUE(ParseDouble("0.25", &d));
  EXPECT_EQ(d, 0.25);
  EXPECT_TRUE(ParseDouble("-1e3", &d));
  EXPECT_EQ(d, -1000.0);
  EXPECT_FALSE(ParseDouble("", &d));
  EXPECT_FALSE(ParseDouble("x", &d));
  EXPECT_FALSE(ParseDouble("0.5x", &d));
  EXPECT_FALSE(ParseDouble("1e999", &d));  // ERANGE
}

}  // namespace
}  // namespace cachet::common
