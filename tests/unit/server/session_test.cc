// The session a connection starts with (session_fixture.h): the first byte picks text or binary,
// unless -B fixed the protocol.
#include "server/session.h"

#include <gtest/gtest.h>

#include <string>

#include "protocol/binary_protocol.h"
#include "session_fixture.h"

namespace cachet::server {
namespace {

// A binary VERSION request (none of its bytes is a newline, so as text it is one bad line).
std::string BinaryVersion() {
  protocol::BinaryHeader h;
  h.magic = protocol::kBinaryRequestMagic;
  h.opcode = protocol::binop::kVersion;
  h.opaque = 7;
  std::string out(protocol::kBinaryHeaderSize, '\0');
  protocol::EncodeBinaryHeader(h, out.data());
  return out;
}

using AutoSessionTest = SessionFixture<Session>;

TEST_F(AutoSessionTest, TextFromAnyFirstByteButTheBinaryMagic) {
  EXPECT_EQ(Run("set k 0 0 1\r\nv\r\nget k\r\n"), "STORED\r\nVALUE k 0 1\r\nv\r\nEND\r\n");
  // Decided for the connection's life: a binary request later is a bad text line.
  EXPECT_EQ(Run(BinaryVersion() + "\r\n"), "ERROR\r\n");
}

TEST_F(AutoSessionTest, BinaryWhenTheFirstByteIsTheMagic) {
  const std::string reply = Run(BinaryVersion());
  ASSERT_EQ(reply.size(), protocol::kBinaryHeaderSize + 6);
  const protocol::BinaryHeader h = protocol::DecodeBinaryHeader(reply);
  EXPECT_EQ(h.magic, protocol::kBinaryResponseMagic);
  EXPECT_EQ(h.opcode, protocol::binop::kVersion);
  EXPECT_EQ(h.opaque, 7u);
  EXPECT_EQ(reply.substr(protocol::kBinaryHeaderSize), "1.6.18");
}

Settings AsciiOnly() {
  Settings s = TestSettings();
  s.protocol = Protocol::kAscii;
  return s;
}

class AsciiOnlySessionTest : public SessionFixture<Session> {
 protected:
  AsciiOnlySessionTest() : SessionFixture(AsciiOnly()) {}
};

TEST_F(AsciiOnlySessionTest, BinaryMagicIsReadAsText) {
  EXPECT_EQ(Run(BinaryVersion() + "\r\n"), "ERROR\r\n");
  EXPECT_EQ(Run("version\r\n"), "VERSION 1.6.18\r\n");
}

}  // namespace
}  // namespace cachet::server
