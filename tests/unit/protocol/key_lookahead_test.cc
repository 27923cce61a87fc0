#include "protocol/key_lookahead.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cachet::protocol {
namespace {

struct Seen {
  std::vector<std::string> keys;
  size_t requests = 0;
};

Seen Look(std::string_view input, size_t max_keys = 32) {
  Seen s;
  s.requests = LookAheadKeys(input, max_keys, [&](std::string_view k) { s.keys.emplace_back(k); });
  return s;
}

TEST(KeyLookAhead, PipelinedReadsAndWrites) {
  const Seen s = Look(
      "get a\r\nget b c\r\ngets d\r\ngat 10 e f\r\nmg g v\r\n"
      "set h 0 0 5\r\nhello\r\nadd i 1 2 0\r\n\r\nms j 2 T10\r\nhi\r\nget k\r\n");
  EXPECT_EQ(s.keys,
            (std::vector<std::string>{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"}));
  EXPECT_EQ(s.requests, 9u);
}

TEST(KeyLookAhead, StopsAtWhatItDoesNotKnowOrHasNotFullyReceived) {
  EXPECT_EQ(Look("get a\r\ndelete b\r\nget c\r\n").keys, std::vector<std::string>{"a"});
  EXPECT_EQ(Look("get a\r\nget b").keys, std::vector<std::string>{"a"});  // no newline yet
  // The data block has not all arrived: its key is passed, what follows is not looked at.
  const Seen partial = Look("set a 0 0 10\r\nabc");
  EXPECT_EQ(partial.keys, std::vector<std::string>{"a"});
  EXPECT_EQ(partial.requests, 0u);
  EXPECT_TRUE(Look("set a 0 0 x\r\nabc\r\n").keys.empty());  // not a length
  EXPECT_TRUE(Look("").keys.empty());
}

TEST(KeyLookAhead, CountsOnlyRequestsWhoseKeysAllFit) {
  const Seen s = Look("get a b\r\nget c d e\r\n", 4);
  EXPECT_EQ(s.keys, (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(s.requests, 1u);
}

}  // namespace
}  // namespace cachet::protocol
