#include "protocol/text_reply.h"

#include <gtest/gtest.h>

#include <string>

namespace cachet::protocol {
namespace {

TEST(TextReply, ValueHeader) {
  char buf[kMaxValueHeader];
  size_t n = FormatValueHeader(buf, "key", 42, 5, false, 0);
  EXPECT_EQ(std::string(buf, n), "VALUE key 42 5\r\n");
  n = FormatValueHeader(buf, "k", 0, 0, true, 18446744073709551615ull);
  EXPECT_EQ(std::string(buf, n), "VALUE k 0 0 18446744073709551615\r\n");
  const std::string key(250, 'k');
  n = FormatValueHeader(buf, key, 4294967295u, 4294967295u, true, 18446744073709551615ull);
  EXPECT_LE(n, kMaxValueHeader);
}

TEST(TextReply, Outcomes) {
  EXPECT_EQ(OutcomeReply(common::Outcome::kStored), "STORED\r\n");
  EXPECT_EQ(OutcomeReply(common::Outcome::kNotStored), "NOT_STORED\r\n");
  EXPECT_EQ(OutcomeReply(common::Outcome::kExists), "EXISTS\r\n");
  EXPECT_EQ(OutcomeReply(common::Outcome::kNotFound), "NOT_FOUND\r\n");
  EXPECT_EQ(ErrorReply(TextError::kBadDeleteFormat),
            "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n");
  EXPECT_TRUE(ErrorReply(TextError::kCloseConnection).empty());
}

}  // namespace
}  // namespace cachet::protocol
