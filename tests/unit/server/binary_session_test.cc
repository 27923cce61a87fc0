// The binary session in process (session_fixture.h): real store, no sockets.
#include "server/binary_session.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "session_fixture.h"

namespace cachet::server {
namespace {

using protocol::BinaryHeader;
namespace op = protocol::binop;

std::string Req(uint8_t opcode, std::string_view extras, std::string_view key,
                std::string_view value, uint64_t cas = 0) {
  BinaryHeader h;
  h.magic = protocol::kBinaryRequestMagic;
  h.opcode = opcode;
  h.key_len = static_cast<uint16_t>(key.size());
  h.extras_len = static_cast<uint8_t>(extras.size());
  h.body_len = static_cast<uint32_t>(extras.size() + key.size() + value.size());
  h.opaque = opcode;
  h.cas = cas;
  std::string out(protocol::kBinaryHeaderSize, '\0');
  protocol::EncodeBinaryHeader(h, out.data());
  return out + std::string(extras) + std::string(key) + std::string(value);
}

std::string SetExtras(uint32_t flags, uint32_t exptime) {
  std::string e(8, '\0');
  protocol::StoreBe32(flags, e.data());
  protocol::StoreBe32(exptime, e.data() + 4);
  return e;
}

struct Resp {
  BinaryHeader h;
  std::string body;
};

// The replies of one Run(), decoded.
std::vector<Resp> Decode(std::string_view r) {
  std::vector<Resp> out;
  while (r.size() >= protocol::kBinaryHeaderSize) {
    Resp p{protocol::DecodeBinaryHeader(r), {}};
    p.body = std::string(r.substr(protocol::kBinaryHeaderSize, p.h.body_len));
    r.remove_prefix(protocol::kBinaryHeaderSize + p.h.body_len);
    out.push_back(p);
  }
  return out;
}

class BinarySessionTest : public SessionFixture<BinarySession> {
 protected:
  std::vector<Resp> RunBinary(const std::string& input, bool* closed = nullptr) {
    return Decode(Run(input, closed));
  }
};

TEST_F(BinarySessionTest, SetGetAndQuietPipeline) {
  auto r = RunBinary(Req(op::kSet, SetExtras(5, 0), "k", "value"));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].h.vbucket_or_status, 0);
  const uint64_t cas = r[0].h.cas;
  EXPECT_NE(cas, 0u);
  // GETKQ hit, GETKQ miss (silent), NOOP.
  r = RunBinary(Req(op::kGetKQ, "", "k", "") + Req(op::kGetKQ, "", "nope", "") +
                Req(op::kNoop, "", "", ""));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].h.opcode, op::kGetKQ);
  EXPECT_EQ(r[0].h.cas, cas);
  EXPECT_EQ(protocol::LoadBe32(r[0].body.data()), 5u);
  EXPECT_EQ(r[0].body.substr(4), "kvalue");
  EXPECT_EQ(r[1].h.opcode, op::kNoop);
  // A stale CAS is refused; SETQ success is silent, its failure is not.
  r = RunBinary(Req(op::kSetQ, SetExtras(0, 0), "k", "x", cas + 1));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].h.vbucket_or_status, 0x02);
  EXPECT_EQ(r[0].body, "Data exists for key.");
  EXPECT_TRUE(RunBinary(Req(op::kSetQ, SetExtras(0, 0), "k", "x", cas)).empty());
}

TEST_F(BinarySessionTest, IncrementCreatesWithInitialUnlessToldNotTo) {
  std::string e(20, '\0');
  protocol::StoreBe64(3, e.data());
  protocol::StoreBe64(10, e.data() + 8);
  protocol::StoreBe32(0xffffffffu, e.data() + 16);
  auto r = RunBinary(Req(op::kIncrement, e, "n", ""));
  EXPECT_EQ(r[0].h.vbucket_or_status, 0x01);
  protocol::StoreBe32(0, e.data() + 16);
  r = RunBinary(Req(op::kIncrement, e, "n", ""));
  EXPECT_EQ(protocol::LoadBe64(r[0].body.data()), 10u);
  r = RunBinary(Req(op::kIncrement, e, "n", ""));
  EXPECT_EQ(protocol::LoadBe64(r[0].body.data()), 13u);
}

TEST_F(BinarySessionTest, UnknownOpcodeBodyIsSkippedAndTheStreamStaysInSync) {
  auto r = RunBinary(Req(0x1b, "abcd", "key", "a body") + Req(op::kVersion, "", "", ""));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].h.vbucket_or_status, 0x81);
  EXPECT_EQ(r[0].body, "Unknown command");
  EXPECT_EQ(r[1].body, "1.6.18");
}

TEST_F(BinarySessionTest, MalformedRequestsCloseTheConnection) {
  bool closed = false;
  auto r = RunBinary(Req(op::kGet, "xxxx", "k", ""), &closed);  // GET takes no extras
  EXPECT_TRUE(closed);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].h.vbucket_or_status, 0x04);
  EXPECT_EQ(r[0].body, "Invalid arguments");
}

TEST_F(BinarySessionTest, TooLargeValueIsSwallowedInPieces) {
  const std::string big(2 << 20, 'v');
  const std::string req = Req(op::kSet, SetExtras(0, 0), "k", big) + Req(op::kNoop, "", "", "");
  std::vector<Resp> all;
  for (size_t pos = 0; pos < req.size(); pos += 65536) {
    for (auto& p : RunBinary(req.substr(pos, 65536))) all.push_back(p);
  }
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].h.vbucket_or_status, 0x03);
  EXPECT_EQ(all[0].body, "Too large.");
  EXPECT_EQ(all[1].h.opcode, op::kNoop);
  EXPECT_LT(in_.capacity(), size_t{1} << 20);  // never buffered whole
}

}  // namespace
}  // namespace cachet::server
