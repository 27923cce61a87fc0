// The meta protocol's one outcome-to-reply mapping and its return-flag pieces.
#include "protocol/meta_reply.h"

#include <gtest/gtest.h>

#include "protocol/text_reply.h"

namespace cachet::protocol {
namespace {

using common::Outcome;

TEST(MetaReply, StatusCodes) {
  EXPECT_EQ(MetaReplyFor(Outcome::kStored, TextCommand::kMetaSet).code, "HD");
  EXPECT_EQ(MetaReplyFor(Outcome::kDeleted, TextCommand::kMetaDelete).code, "HD");
  EXPECT_EQ(MetaReplyFor(Outcome::kNotStored, TextCommand::kMetaArith).code, "NS");
  EXPECT_EQ(MetaReplyFor(Outcome::kExists, TextCommand::kMetaDelete).code, "EX");
  EXPECT_EQ(MetaReplyFor(Outcome::kNotFound, TextCommand::kMetaSet).code, "NF");
  EXPECT_EQ(MetaReplyFor(Outcome::kTooLarge, TextCommand::kMetaSet).code, "NS");
}

TEST(MetaReply, ErrorLinesReplaceTheCode) {
  EXPECT_EQ(MetaReplyFor(Outcome::kNoMemory, TextCommand::kMetaSet).error_line,
            kOutOfMemoryStoring);
  EXPECT_EQ(MetaReplyFor(Outcome::kNoMemory, TextCommand::kMetaDelete).error_line, kOutOfMemory);
  EXPECT_EQ(MetaReplyFor(Outcome::kNonNumeric, TextCommand::kMetaArith).error_line, kNonNumeric);
  EXPECT_TRUE(MetaReplyFor(Outcome::kNonNumeric, TextCommand::kMetaArith).code.empty());
}

TEST(MetaReply, ReturnFlagPieces) {
  common::ByteBuffer out;
  AppendMetaFlag(out, 'c', 42);
  AppendMetaTtl(out, 0, 100);
  AppendMetaTtl(out, 130, 100);
  AppendMetaTtl(out, 90, 100);  // already past: 0 left
  AppendMetaKey(out, std::string_view("\x00\x01", 2), /*base64=*/true);
  EXPECT_EQ(out.readable(), " c42 t-1 t30 t0 kAAE= b");
}

}  // namespace
}  // namespace cachet::protocol
