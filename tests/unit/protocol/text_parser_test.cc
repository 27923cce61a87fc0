// Every case is replayed whole and split into fragments of 1, 2, 5 and 10 bytes: the parser must
// give the same requests whatever the split, and never a result before its bytes arrived.
#include "protocol/text_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cachet::protocol {
namespace {

struct Parsed {
  ParseStatus status;
  TextCommand command;
  TextError error;
  std::string key;
  std::string keys;
  std::string data;
  uint32_t flags;
  int32_t exptime;
  uint64_t cas;
  uint64_t delta;
  bool noreply;
  bool operator==(const Parsed&) const = default;
};

Parsed Snapshot(ParseStatus s, const TextRequest& r) {
  return {s,
          r.command,
          r.error,
          std::string(r.key),
          std::string(r.keys),
          std::string(r.data),
          r.flags,
          r.exptime,
          r.cas,
          r.delta,
          r.noreply};
}

// Feeds `input` in chunks of `step` bytes (0 = whole) and collects every finished request.
std::vector<Parsed> Feed(const std::string& input, size_t step, bool* closed) {
  std::vector<Parsed> out;
  std::string buf;
  *closed = false;
  size_t pos = 0;
  while (pos < input.size() && !*closed) {
    const size_t n = step == 0 ? input.size() : std::min(step, input.size() - pos);
    buf.append(input, pos, n);
    pos += n;
    while (!buf.empty()) {
      TextRequest req;
      size_t consumed = 0;
      const ParseStatus s = ParseTextRequest(buf, &req, &consumed);
      if (s == ParseStatus::kNeedMore || s == ParseStatus::kNeedData) break;
      if (s == ParseStatus::kLineTooLong) {
        *closed = true;
        break;
      }
      EXPECT_LE(consumed, buf.size());
      out.push_back(Snapshot(s, req));
      buf.erase(0, consumed);
    }
  }
  return out;
}

struct Case {
  const char* name;
  std::string input;
  size_t expected_requests;
};

class FragmentTest : public ::testing::TestWithParam<Case> {};

TEST_P(FragmentTest, SameResultAtEveryFragmentSize) {
  const Case& c = GetParam();
  bool closed_whole = false;
  const std::vector<Parsed> whole = Feed(c.input, 0, &closed_whole);
  EXPECT_EQ(whole.size(), c.expected_requests);
  for (size_t step : {1, 2, 5, 10}) {
    bool closed = false;
    EXPECT_EQ(Feed(c.input, step, &closed), whole) << c.name << " at fragment size " << step;
    EXPECT_EQ(closed, closed_whole);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, FragmentTest,
    ::testing::Values(
        Case{"get", "get foo\r\n", 1}, Case{"multiget", "get a bb ccc dddd\r\n", 1},
        Case{"set", "set k 5 10 3\r\nabc\r\n", 1},
        Case{"set_noreply", "set k 0 0 1 noreply\r\nx\r\n", 1},
        Case{"binary_data", std::string("set k 0 0 6\r\n\0\r\n\r\na\r\n", 21), 1},
        Case{"pipeline", "set a 0 0 1\r\n1\r\nget a\r\ndelete a\r\nincr n 5\r\nversion\r\n", 5},
        Case{"cas", "cas k 1 2 3 99\r\nabc\r\n", 1},
        Case{"bad_chunk", "set k 0 0 1\r\nabc\r\nget k\r\n", 3},
        Case{"lf_only", "get a\nget b\n", 2}, Case{"empty_line", "\r\n", 1},
        Case{"zero_length", "set k 0 0 0\r\n\r\n", 1},
        Case{"too_long_line", std::string(3000, 'x'), 0},
        Case{"touch_gat", "touch k 10\r\ngat 5 a b\r\ngats 0 c\r\n", 3},
        Case{"flush_verbosity", "flush_all\r\nflush_all 10 noreply\r\nverbosity 1\r\n", 3},
        Case{"meta", "mn\r\nms k 3 T10 F5 c\r\nabc\r\nmg k v t q O12\r\nma n MD D2\r\nmd k I\r\n",
             5},
        // At the parser level an ms error leaves its data as a line; the session discards it.
        Case{"meta_errors", "mg k v v\r\nms k 2 MZZ\r\nab\r\nmg k\r\n", 4}),
    [](const auto& info) { return std::string(info.param.name); });

TextRequest Line(std::string_view line) {
  TextRequest r;
  ParseCommandLine(line, &r);
  return r;
}

TEST(TextParser, StorageFields) {
  TextRequest r = Line("set key 42 100 5 noreply");
  EXPECT_EQ(r.command, TextCommand::kSet);
  EXPECT_EQ(r.error, TextError::kNone);
  EXPECT_EQ(r.key, "key");
  EXPECT_EQ(r.flags, 42u);
  EXPECT_EQ(r.exptime, 100);
  EXPECT_EQ(r.bytes, 5u);
  EXPECT_TRUE(r.noreply);
}

TEST(TextParser, ExptimeTruncatesToInt32LikeMemcached) {
  EXPECT_EQ(Line("set k 0 4294967295 1").exptime, -1);
  EXPECT_EQ(Line("set k 0 -5 1").exptime, -5);
  EXPECT_EQ(Line("set k 0 abc 1").error, TextError::kBadFormat);
}

TEST(TextParser, RefusesOutOfRangeFlagsAndLengths) {
  EXPECT_EQ(Line("set k 4294967295 0 1").error, TextError::kNone);
  EXPECT_EQ(Line("set k 4294967296 0 1").error, TextError::kBadFormat);
  EXPECT_EQ(Line("set k 0 0 4294967296").error, TextError::kBadFormat);
  EXPECT_EQ(Line("set k 0 0 -1").error, TextError::kBadFormat);
  EXPECT_EQ(Line("set k -1 0 1").error, TextError::kBadFormat);
}

TEST(TextParser, KeyLimits) {
  EXPECT_EQ(Line("get " + std::string(250, 'k')).error, TextError::kNone);
  EXPECT_EQ(Line("set " + std::string(251, 'k') + " 0 0 1").error, TextError::kBadFormat);
  EXPECT_EQ(Line("set a\x01z 0 0 1").error, TextError::kBadFormat);
  EXPECT_EQ(Line("delete a\x7f").error, TextError::kBadFormat);
  EXPECT_TRUE(KeyIsValid(std::string(250, 'a')));
  EXPECT_FALSE(KeyIsValid(std::string(251, 'a')));
  EXPECT_FALSE(KeyIsValid(""));
}

TEST(TextParser, TokenCountsFollowMemcached) {
  EXPECT_EQ(Line("set k 0 0").error, TextError::kUnknownCommand);
  EXPECT_EQ(Line("set k 0 0 1 noreply extra").error, TextError::kUnknownCommand);
  EXPECT_EQ(Line("get").error, TextError::kUnknownCommand);
  EXPECT_EQ(Line("x").error, TextError::kUnknownCommand);
  EXPECT_EQ(Line("bogus command").error, TextError::kUnknownCommand);
  EXPECT_EQ(Line("GET / HTTP/1.1").error, TextError::kCloseConnection);
  // More than 24 tokens: the get family still sees every key.
  std::string many = "get";
  for (int i = 0; i < 100; ++i) many += " k" + std::to_string(i);
  TextRequest r = Line(many);
  EXPECT_EQ(r.error, TextError::kNone);
  std::string_view keys = r.keys;
  int n = 0;
  while (!NextKey(&keys).empty()) ++n;
  EXPECT_EQ(n, 100);
}

TEST(TextParser, DeleteForms) {
  EXPECT_EQ(Line("delete k").error, TextError::kNone);
  EXPECT_EQ(Line("delete k 0").error, TextError::kNone);
  EXPECT_TRUE(Line("delete k noreply").noreply);
  EXPECT_EQ(Line("delete k 0 noreply").error, TextError::kNone);
  EXPECT_EQ(Line("delete k 1").error, TextError::kBadDeleteFormat);
  EXPECT_EQ(Line("delete k ").error, TextError::kNone);  // python-memcached's trailing space
}

TEST(TextParser, ArithAndTouch) {
  TextRequest r = Line("incr n 18446744073709551615");
  EXPECT_EQ(r.delta, 18446744073709551615ull);
  EXPECT_EQ(Line("incr n -1").error, TextError::kInvalidDelta);
  EXPECT_EQ(Line("decr n abc").error, TextError::kInvalidDelta);
  EXPECT_EQ(Line("touch k abc").error, TextError::kInvalidExptime);
  EXPECT_EQ(Line("gat abc k").error, TextError::kInvalidExptime);
  TextRequest g = Line("gat 10 a b");
  EXPECT_EQ(g.exptime, 10);
  std::string_view keys = g.keys;
  EXPECT_EQ(NextKey(&keys), "a");
  EXPECT_EQ(NextKey(&keys), "b");
}

TEST(TextParser, MetaFlagsInOrderWithTheirTokens) {
  TextRequest r = Line("mg key v T30 O123 N5 R-1 k q");
  EXPECT_EQ(r.command, TextCommand::kMetaGet);
  EXPECT_EQ(r.error, TextError::kNone);
  EXPECT_EQ(r.key, "key");
  ASSERT_EQ(r.meta.count, 7u);
  EXPECT_EQ(r.meta.tokens[2], "O123");
  EXPECT_TRUE(r.meta.value && r.meta.quiet && r.meta.has_ttl && r.meta.has_vivify);
  EXPECT_EQ(r.meta.ttl, 30);
  EXPECT_EQ(r.meta.recache_ttl, -1);
  r = Line("ms key 5 F7 MA C99 I");
  EXPECT_EQ(r.command, TextCommand::kMetaSet);
  EXPECT_EQ(r.bytes, 5u);
  EXPECT_EQ(r.meta.client_flags, 7u);
  EXPECT_EQ(r.meta.mode, 'A');
  EXPECT_EQ(r.meta.cas, 99u);
  EXPECT_TRUE(r.meta.invalidate);
  // A base64 key is decoded into the request itself, so read it from the request parsed into.
  TextRequest b;
  ParseCommandLine("mg Zm9v b k", &b);  // base64 "foo"
  EXPECT_EQ(b.key, "foo");
}

TEST(TextParser, MetaErrorsUseMemcachedsTexts) {
  EXPECT_EQ(Line("mg k v v").meta_error, "CLIENT_ERROR duplicate flag");
  EXPECT_EQ(Line("mg k !").meta_error, "CLIENT_ERROR invalid flag");
  EXPECT_EQ(Line("mg k Tx").meta_error, "CLIENT_ERROR bad token in command line format");
  // ms and md refuse a long opaque while parsing; mg and ma only after their effects.
  EXPECT_EQ(Line("md k O" + std::string(32, 'o')).meta_error, "CLIENT_ERROR opaque token too long");
  EXPECT_EQ(Line("mg k O" + std::string(32, 'o')).error, TextError::kNone);
  EXPECT_EQ(Line("ms k 1 MAB").meta_error, "CLIENT_ERROR incorrect length for M token");
  EXPECT_EQ(Line("ma k Dx").meta_error, "CLIENT_ERROR invalid or duplicate flag");
  EXPECT_EQ(Line("mg !!! b").meta_error, "CLIENT_ERROR error decoding key");
  EXPECT_EQ(Line("ms k x").meta_error, "CLIENT_ERROR bad command line format");
  EXPECT_EQ(Line("mg").error, TextError::kUnknownCommand);
  EXPECT_EQ(Line("mz k").error, TextError::kUnknownCommand);
  EXPECT_TRUE(Line("ms k 2 Zz").meta_data_follows);  // its data block is discarded
}

// memcached wraps these into 32 bits; cachet refuses them (README, deliberate differences).
TEST(TextParser, MetaNumbersPast32BitsAreRefused) {
  const std::string_view bad_format = "CLIENT_ERROR bad command line format";
  EXPECT_EQ(Line("ms k 4294967299").meta_error, bad_format);
  EXPECT_FALSE(Line("ms k 4294967299").meta_data_follows);
  EXPECT_EQ(Line("ms k -4294967295").meta_error, bad_format);
  EXPECT_EQ(Line("ms k 3 F4294967297").meta_error, bad_format);
  EXPECT_TRUE(Line("ms k 3 F4294967297").meta_data_follows);
  EXPECT_EQ(Line("ms k 3 F4294967295").meta.client_flags, 4294967295u);
  EXPECT_EQ(Line("mg k T4294967301").meta_error, "CLIENT_ERROR bad token in command line format");
  EXPECT_EQ(Line("mg k R-2147483649").meta_error, "CLIENT_ERROR bad token in command line format");
  EXPECT_EQ(Line("ma k N2147483648").meta_error, "CLIENT_ERROR invalid or duplicate flag");
  EXPECT_EQ(Line("mg k T-2147483648").meta.ttl, -2147483647 - 1);
  EXPECT_EQ(Line("mg k N2147483647").meta.vivify_ttl, 2147483647);
}

TEST(TextParser, DataBlock) {
  TextRequest r;
  size_t consumed = 0;
  EXPECT_EQ(ParseTextRequest("set k 0 0 3\r\nab", &r, &consumed), ParseStatus::kNeedData);
  EXPECT_EQ(consumed, 13u);
  EXPECT_EQ(ParseTextRequest("set k 0 0 3\r\nabc\r\nget", &r, &consumed), ParseStatus::kDone);
  EXPECT_EQ(consumed, 18u);
  EXPECT_EQ(r.data, "abc");
  EXPECT_EQ(ParseTextRequest("set k 0 0 3\r\nabcde", &r, &consumed), ParseStatus::kBadDataChunk);
  EXPECT_EQ(consumed, 18u);
}

TEST(TextParser, LongLines) {
  TextRequest r;
  size_t consumed = 0;
  EXPECT_EQ(ParseTextRequest(std::string(2048, 'a'), &r, &consumed), ParseStatus::kNeedMore);
  EXPECT_EQ(ParseTextRequest(std::string(2049, 'a'), &r, &consumed), ParseStatus::kLineTooLong);
  std::string get = "get " + std::string(5000, 'k');
  EXPECT_EQ(ParseTextRequest(get, &r, &consumed), ParseStatus::kNeedMore);
  EXPECT_EQ(ParseTextRequest("gat 1 " + std::string(5000, 'k'), &r, &consumed),
            ParseStatus::kLineTooLong);
}

TEST(TextParser, ScannedPrefixIsNotSearchedAgain) {
  TextRequest r;
  size_t consumed = 0;
  size_t scanned = 0;
  std::string line = "get " + std::string(3000, 'k');
  EXPECT_EQ(ParseTextRequest(line, &r, &consumed, &scanned), ParseStatus::kNeedMore);
  EXPECT_EQ(scanned, line.size());
  line += " k2\r\n";
  EXPECT_EQ(ParseTextRequest(line, &r, &consumed, &scanned), ParseStatus::kDone);
  EXPECT_EQ(consumed, line.size());
  EXPECT_EQ(scanned, 0u);
  // The hint is trusted: a newline inside the scanned part is not looked for again.
  scanned = 5;
  EXPECT_EQ(ParseTextRequest("get\r\nk", &r, &consumed, &scanned), ParseStatus::kNeedMore);
  // A hint past the input (a different buffer) is ignored.
  scanned = 100;
  EXPECT_EQ(ParseTextRequest("get k\r\n", &r, &consumed, &scanned), ParseStatus::kDone);
}

}  // namespace
}  // namespace cachet::protocol
