#include "protocol/meta_reply.h"

#include "common/base64.h"
#include "common/numbers.h"
#include "protocol/text_reply.h"

namespace cachet::protocol {

using common::ByteBuffer;
using common::Outcome;

MetaReply MetaReplyFor(Outcome outcome, TextCommand command) {
  const bool ms = command == TextCommand::kMetaSet;
  switch (outcome) {
    case Outcome::kStored:
    case Outcome::kDeleted:
    case Outcome::kTouched:
      return {"HD", {}};
    case Outcome::kNotStored:
      return {"NS", {}};
    case Outcome::kExists:
      return {"EX", {}};
    case Outcome::kNotFound:
      return {"NF", {}};
    case Outcome::kTooLarge:  // an append or prepend the item cannot grow by
      return ms ? MetaReply{"NS", {}} : MetaReply{{}, kOutOfMemory};
    case Outcome::kNoMemory:
      return {{}, ms ? kOutOfMemoryStoring : kOutOfMemory};
    case Outcome::kNonNumeric:
      return {{}, kNonNumeric};
  }
  return {{}, kOutOfMemory};
}

void AppendMetaFlag(ByteBuffer& out, char flag, uint64_t value) {
  char buf[22];
  buf[0] = ' ';
  buf[1] = flag;
  out.Append(std::string_view(buf, 2 + common::FormatU64(value, buf + 2)));
}

void AppendMetaTtl(ByteBuffer& out, uint32_t exptime, uint32_t now) {
  if (exptime == 0) {
    out.Append(" t-1");
  } else {
    AppendMetaFlag(out, 't', exptime > now ? exptime - now : 0);
  }
}

void AppendMetaKeyText(ByteBuffer& out, std::string_view key, bool base64) {
  if (base64) {
    char buf[344];
    out.Append(std::string_view(buf, common::Base64Encode(key, buf)));
  } else {
    out.Append(key);
  }
}

void AppendMetaKey(ByteBuffer& out, std::string_view key, bool base64) {
  out.Append(" k");
  AppendMetaKeyText(out, key, base64);
  if (base64) out.Append(" b");
}

void AppendMetaEchoFlags(ByteBuffer& out, const MetaFlags& flags, std::string_view key) {
  for (size_t i = 0; i < flags.count; ++i) {
    const std::string_view t = flags.tokens[i];
    if (t[0] == 'O') {
      out.Append(' ');
      out.Append(t);
    } else if (t[0] == 'k') {
      AppendMetaKey(out, key, flags.base64);
    }
  }
}

}  // namespace cachet::protocol
