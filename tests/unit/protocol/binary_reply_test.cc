// The binary protocol's one outcome-to-status mapping, per opcode.
#include "protocol/binary_reply.h"

#include <gtest/gtest.h>

namespace cachet::protocol {
namespace {

using common::Outcome;

TEST(BinaryReply, NotStoredDependsOnTheOpcode) {
  EXPECT_EQ(BinaryReplyFor(Outcome::kNotStored, binop::kAdd).status, BinaryStatus::kKeyExists);
  EXPECT_EQ(BinaryReplyFor(Outcome::kNotStored, binop::kReplace).status,
            BinaryStatus::kKeyNotFound);
  EXPECT_EQ(BinaryReplyFor(Outcome::kNotStored, binop::kAppend).status, BinaryStatus::kNotStored);
  EXPECT_EQ(BinaryReplyFor(Outcome::kStored, binop::kSet).status, BinaryStatus::kOk);
  EXPECT_EQ(BinaryReplyFor(Outcome::kExists, binop::kDelete).status, BinaryStatus::kKeyExists);
}

TEST(BinaryReply, OutOfMemoryNamesWhatWasAllocated) {
  EXPECT_EQ(BinaryReplyFor(Outcome::kNoMemory, binop::kSet).text, "Out of memory allocating item");
  EXPECT_EQ(BinaryReplyFor(Outcome::kNoMemory, binop::kIncrement).text,
            "Out of memory incrementing value");
  EXPECT_EQ(BinaryReplyFor(Outcome::kNoMemory, binop::kIncrement, /*creating=*/true).text,
            "Out of memory allocating new item");
  EXPECT_EQ(BinaryReplyFor(Outcome::kExists, binop::kIncrement, /*creating=*/true).status,
            BinaryStatus::kNotStored);
  EXPECT_EQ(BinaryReplyFor(Outcome::kNonNumeric, binop::kDecrement).status,
            BinaryStatus::kNonNumeric);
}

TEST(BinaryReply, QuietHidesOnlySuccess) {
  BinaryHeader request;
  request.opcode = binop::kSetQ;
  common::ByteBuffer out;
  AppendBinaryWriteReply(out, request, Outcome::kStored, binop::kSet, /*quiet=*/true, 7);
  EXPECT_TRUE(out.empty());
  AppendBinaryWriteReply(out, request, Outcome::kExists, binop::kSet, /*quiet=*/true, 7);
  ASSERT_EQ(out.size(), kBinaryHeaderSize + 20);
  const BinaryHeader h = DecodeBinaryHeader(out.readable());
  EXPECT_EQ(h.vbucket_or_status, static_cast<uint16_t>(BinaryStatus::kKeyExists));
  EXPECT_EQ(out.readable().substr(kBinaryHeaderSize), "Data exists for key.");
}

}  // namespace
}  // namespace cachet::protocol
