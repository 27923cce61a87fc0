// Binary framing at every fragment size, and compose -> frame round trips.
#include "protocol/binary_protocol.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cachet::protocol {
namespace {

std::string Request(uint8_t opcode, std::string_view extras, std::string_view key,
                    std::string_view value, uint32_t opaque = 0x01020304, uint64_t cas = 0) {
  BinaryHeader h;
  h.magic = kBinaryRequestMagic;
  h.opcode = opcode;
  h.key_len = static_cast<uint16_t>(key.size());
  h.extras_len = static_cast<uint8_t>(extras.size());
  h.body_len = static_cast<uint32_t>(extras.size() + key.size() + value.size());
  h.opaque = opaque;
  h.cas = cas;
  std::string out(kBinaryHeaderSize, '\0');
  EncodeBinaryHeader(h, out.data());
  out.append(extras);
  out.append(key);
  out.append(value);
  return out;
}

struct Framed {
  uint8_t opcode;
  std::string extras, key, value;
  uint32_t opaque;
  uint64_t cas;
  bool operator==(const Framed&) const = default;
};

// Feeds `stream` in `step`-byte fragments and frames every complete request.
std::vector<Framed> FeedAll(const std::string& stream, size_t step) {
  std::vector<Framed> out;
  std::string buf;
  size_t pos = 0;
  while (pos < stream.size()) {
    const size_t n = step == 0 ? stream.size() : std::min(step, stream.size() - pos);
    buf.append(stream, pos, n);
    pos += n;
    while (true) {
      BinaryRequest req;
      const BinaryFrame f = FrameBinaryRequest(buf, &req);
      if (f != BinaryFrame::kReady) {
        EXPECT_EQ(f, BinaryFrame::kNeedMore);
        break;
      }
      const size_t total = req.prefix_len + req.value_len;
      if (buf.size() < total) break;  // the value is still arriving
      EXPECT_LE(total, buf.size());
      out.push_back({req.header.opcode, std::string(req.extras), std::string(req.key),
                     buf.substr(req.prefix_len, req.value_len), req.header.opaque, req.header.cas});
      buf.erase(0, total);
    }
  }
  EXPECT_TRUE(buf.empty());
  return out;
}

TEST(BinaryFraming, SameRequestsAtEveryFragmentSize) {
  std::string flags_exp(8, '\0');
  StoreBe32(7, flags_exp.data());
  StoreBe32(100, flags_exp.data() + 4);
  std::string incr(20, '\0');
  StoreBe64(5, incr.data());
  const std::string stream = Request(binop::kSet, flags_exp, "key", std::string("v\0\r\nx", 5)) +
                             Request(binop::kGetKQ, "", "key", "") +
                             Request(binop::kIncrement, incr, "n", "", 9, 42) +
                             Request(binop::kNoop, "", "", "") +
                             Request(binop::kSet, flags_exp, "big", std::string(3000, 'b'));
  const std::vector<Framed> whole = FeedAll(stream, 0);
  ASSERT_EQ(whole.size(), 5u);
  EXPECT_EQ(whole[0].value, std::string("v\0\r\nx", 5));
  EXPECT_EQ(whole[2].cas, 42u);
  EXPECT_EQ(whole[2].opaque, 9u);
  EXPECT_EQ(LoadBe64(whole[2].extras.data()), 5u);
  for (size_t step : {1, 2, 5, 10}) EXPECT_EQ(FeedAll(stream, step), whole) << step;
}

TEST(BinaryFraming, RejectsBadMagicAndImpossibleLengths) {
  BinaryRequest req;
  std::string bad = Request(binop::kGet, "", "k", "");
  bad[0] = 'g';
  EXPECT_EQ(FrameBinaryRequest(bad, &req), BinaryFrame::kBadMagic);
  std::string lying = Request(binop::kGet, "", "key", "");
  StoreBe32(1, lying.data() + 8);  // body shorter than the key
  EXPECT_EQ(FrameBinaryRequest(lying, &req), BinaryFrame::kBadLengths);
  EXPECT_EQ(FrameBinaryRequest(std::string(23, '\x80'), &req), BinaryFrame::kNeedMore);
}

TEST(BinaryResponses, RoundTripThroughTheHeaderCodec) {
  BinaryHeader request;
  request.opcode = binop::kGetK;
  request.opaque = 0xdeadbeef;
  common::ByteBuffer out;
  AppendBinaryResponse(out, request, BinaryStatus::kOk, 77, std::string_view("\0\0\0\x05", 4),
                       "key", "value");
  const std::string_view r = out.readable();
  ASSERT_EQ(r.size(), kBinaryHeaderSize + 4 + 3 + 5);
  const BinaryHeader h = DecodeBinaryHeader(r);
  EXPECT_EQ(h.magic, kBinaryResponseMagic);
  EXPECT_EQ(h.opcode, binop::kGetK);
  EXPECT_EQ(h.key_len, 3);
  EXPECT_EQ(h.extras_len, 4);
  EXPECT_EQ(h.vbucket_or_status, 0);
  EXPECT_EQ(h.body_len, 12u);
  EXPECT_EQ(h.opaque, 0xdeadbeefu);
  EXPECT_EQ(h.cas, 77u);
  EXPECT_EQ(r.substr(kBinaryHeaderSize + 4), "keyvalue");
  out.Consume(out.size());
  AppendBinaryError(out, request, BinaryStatus::kKeyExists);
  EXPECT_EQ(DecodeBinaryHeader(out.readable()).vbucket_or_status, 0x02);
  EXPECT_EQ(out.readable().substr(kBinaryHeaderSize), "Data exists for key.");
}

TEST(BinaryWireRules, QuietOpcodesMapToTheirBase) {
  bool quiet = false;
  EXPECT_EQ(BaseOpcode(binop::kGetKQ, &quiet), binop::kGetK);
  EXPECT_TRUE(quiet);
  EXPECT_EQ(BaseOpcode(binop::kSetQ, &quiet), binop::kSet);
  EXPECT_TRUE(quiet);
  EXPECT_EQ(BaseOpcode(binop::kGet, &quiet), binop::kGet);
  EXPECT_FALSE(quiet);
  EXPECT_EQ(BaseOpcode(0x1b, &quiet), 0x1b);  // unknown: its own base
  EXPECT_FALSE(quiet);
}

TEST(BinaryWireRules, LengthRulesPerOpcode) {
  auto shape = [](uint8_t op, uint8_t ext, uint16_t key, uint32_t body) {
    BinaryHeader h;
    h.opcode = op;
    h.extras_len = ext;
    h.key_len = key;
    h.body_len = body;
    return CheckBinaryShape(op, h);
  };
  EXPECT_EQ(shape(binop::kSet, 8, 1, 10), BinaryShape::kValid);
  EXPECT_EQ(shape(binop::kSet, 0, 1, 10), BinaryShape::kInvalid);     // set needs flags + exptime
  EXPECT_EQ(shape(binop::kGet, 4, 1, 5), BinaryShape::kInvalid);      // get takes no extras
  EXPECT_EQ(shape(binop::kGet, 0, 251, 251), BinaryShape::kInvalid);  // key over 250 bytes
  EXPECT_EQ(shape(binop::kIncrement, 20, 1, 21), BinaryShape::kValid);
  EXPECT_EQ(shape(binop::kFlush, 4, 0, 4), BinaryShape::kValid);
  EXPECT_EQ(shape(binop::kFlush, 2, 0, 2), BinaryShape::kInvalid);
  // SASL without -S: well-formed is an unknown command, malformed still a protocol error.
  EXPECT_EQ(shape(binop::kSaslListMechs, 0, 0, 0), BinaryShape::kUnknownOpcode);
  EXPECT_EQ(shape(binop::kSaslListMechs, 0, 1, 1), BinaryShape::kInvalid);
  EXPECT_EQ(shape(0x1b, 4, 3, 20), BinaryShape::kUnknownOpcode);
  EXPECT_TRUE(CarriesValue(binop::kPrepend));
  EXPECT_FALSE(CarriesValue(binop::kTouch));
}

}  // namespace
}  // namespace cachet::protocol
