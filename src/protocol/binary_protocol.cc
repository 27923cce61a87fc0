#include "protocol/binary_protocol.h"

#include <cstring>

#include "protocol/key_syntax.h"

namespace cachet::protocol {

uint32_t LoadBe32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | u[3];
}

uint64_t LoadBe64(const char* p) { return (uint64_t{LoadBe32(p)} << 32) | LoadBe32(p + 4); }

void StoreBe32(uint32_t v, char* p) {
  p[0] = static_cast<char>(v >> 24);
  p[1] = static_cast<char>(v >> 16);
  p[2] = static_cast<char>(v >> 8);
  p[3] = static_cast<char>(v);
}

void StoreBe64(uint64_t v, char* p) {
  StoreBe32(static_cast<uint32_t>(v >> 32), p);
  StoreBe32(static_cast<uint32_t>(v), p + 4);
}

std::string_view BinaryStatusText(BinaryStatus status) {
  switch (status) {
    case BinaryStatus::kOk:
      return {};
    case BinaryStatus::kKeyNotFound:
      return "Not found";
    case BinaryStatus::kKeyExists:
      return "Data exists for key.";
    case BinaryStatus::kTooLarge:
      return "Too large.";
    case BinaryStatus::kInvalidArguments:
      return "Invalid arguments";
    case BinaryStatus::kNotStored:
      return "Not stored.";
    case BinaryStatus::kNonNumeric:
      return "Non-numeric server-side value for incr or decr";
    case BinaryStatus::kAuthError:
      return "Auth failure.";
    case BinaryStatus::kAuthContinue:
      return {};
    case BinaryStatus::kUnknownCommand:
      return "Unknown command";
    case BinaryStatus::kOutOfMemory:
      return "Out of memory";
  }
  return {};
}

uint8_t BaseOpcode(uint8_t opcode, bool* quiet) {
  *quiet = true;
  switch (opcode) {
    case binop::kGetQ:
      return binop::kGet;
    case binop::kGetKQ:
      return binop::kGetK;
    case binop::kSetQ:
      return binop::kSet;
    case binop::kAddQ:
      return binop::kAdd;
    case binop::kReplaceQ:
      return binop::kReplace;
    case binop::kDeleteQ:
      return binop::kDelete;
    case binop::kIncrementQ:
      return binop::kIncrement;
    case binop::kDecrementQ:
      return binop::kDecrement;
    case binop::kQuitQ:
      return binop::kQuit;
    case binop::kFlushQ:
      return binop::kFlush;
    case binop::kAppendQ:
      return binop::kAppend;
    case binop::kPrependQ:
      return binop::kPrepend;
    case binop::kGatQ:
      return binop::kGat;
    case binop::kGatKQ:
      return binop::kGatK;
    default:
      *quiet = false;
      return opcode;
  }
}

BinaryShape CheckBinaryShape(uint8_t base, const BinaryHeader& h) {
  if (h.key_len > kMaxKeyLength) return BinaryShape::kInvalid;
  const uint32_t ext = h.extras_len, key = h.key_len, body = h.body_len;
  bool ok = false;
  switch (base) {
    case binop::kVersion:
    case binop::kNoop:
    case binop::kQuit:
      ok = ext == 0 && key == 0 && body == 0;
      break;
    case binop::kFlush:
      ok = key == 0 && body == ext && (ext == 0 || ext == 4);
      break;
    case binop::kSet:
    case binop::kAdd:
    case binop::kReplace:
      ok = ext == 8 && key != 0 && body >= key + 8;
      break;
    case binop::kGet:
    case binop::kGetK:
      ok = ext == 0 && body == key && key > 0;
      break;
    case binop::kDelete:
      ok = key > 0 && ext == 0 && body == key;
      break;
    case binop::kIncrement:
    case binop::kDecrement:
      ok = key > 0 && ext == 20 && body == key + ext;
      break;
    case binop::kAppend:
    case binop::kPrepend:
      ok = key > 0 && ext == 0;
      break;
    case binop::kStat:
      ok = ext == 0;
      break;
    case binop::kTouch:
    case binop::kGat:
    case binop::kGatK:
      ok = ext == 4 && key != 0;
      break;
    case binop::kSaslListMechs:
      // Without -S, a well-formed SASL request is an unknown command; a malformed one is still
      // a protocol error, as in memcached.
      if (ext != 0 || key != 0 || body != 0) return BinaryShape::kInvalid;
      return BinaryShape::kUnknownOpcode;
    case binop::kSaslAuth:
    case binop::kSaslStep:
      if (ext != 0 || key == 0) return BinaryShape::kInvalid;
      return BinaryShape::kUnknownOpcode;
    default:
      return BinaryShape::kUnknownOpcode;
  }
  return ok ? BinaryShape::kValid : BinaryShape::kInvalid;
}

bool CarriesValue(uint8_t base) {
  return base == binop::kSet || base == binop::kAdd || base == binop::kReplace ||
         base == binop::kAppend || base == binop::kPrepend;
}

BinaryHeader DecodeBinaryHeader(std::string_view in) {
  const char* p = in.data();
  BinaryHeader h;
  h.magic = static_cast<uint8_t>(p[0]);
  h.opcode = static_cast<uint8_t>(p[1]);
  h.key_len = static_cast<uint16_t>((static_cast<uint8_t>(p[2]) << 8) | static_cast<uint8_t>(p[3]));
  h.extras_len = static_cast<uint8_t>(p[4]);
  h.data_type = static_cast<uint8_t>(p[5]);
  h.vbucket_or_status =
      static_cast<uint16_t>((static_cast<uint8_t>(p[6]) << 8) | static_cast<uint8_t>(p[7]));
  h.body_len = LoadBe32(p + 8);
  std::memcpy(&h.opaque, p + 12, sizeof(h.opaque));
  h.cas = LoadBe64(p + 16);
  return h;
}

void EncodeBinaryHeader(const BinaryHeader& h, char* p) {
  p[0] = static_cast<char>(h.magic);
  p[1] = static_cast<char>(h.opcode);
  p[2] = static_cast<char>(h.key_len >> 8);
  p[3] = static_cast<char>(h.key_len);
  p[4] = static_cast<char>(h.extras_len);
  p[5] = static_cast<char>(h.data_type);
  p[6] = static_cast<char>(h.vbucket_or_status >> 8);
  p[7] = static_cast<char>(h.vbucket_or_status);
  StoreBe32(h.body_len, p + 8);
  std::memcpy(p + 12, &h.opaque, sizeof(h.opaque));
  StoreBe64(h.cas, p + 16);
}

BinaryFrame FrameBinaryRequest(std::string_view in, BinaryRequest* req) {
  if (in.size() < kBinaryHeaderSize) return BinaryFrame::kNeedMore;
  const BinaryHeader h = DecodeBinaryHeader(in);
  if (h.magic != kBinaryRequestMagic) return BinaryFrame::kBadMagic;
  const size_t ext_key = size_t{h.extras_len} + h.key_len;
  req->header = h;
  if (ext_key > h.body_len) return BinaryFrame::kBadLengths;
  if (in.size() < kBinaryHeaderSize + ext_key) return BinaryFrame::kNeedMore;
  req->extras = in.substr(kBinaryHeaderSize, h.extras_len);
  req->key = in.substr(kBinaryHeaderSize + h.extras_len, h.key_len);
  req->value_len = static_cast<uint32_t>(h.body_len - ext_key);
  req->prefix_len = kBinaryHeaderSize + ext_key;
  return BinaryFrame::kReady;
}

void AppendBinaryResponse(common::ByteBuffer& out, const BinaryHeader& request, BinaryStatus status,
                          uint64_t cas, std::string_view extras, std::string_view key,
                          std::string_view value) {
  BinaryHeader h;
  h.magic = kBinaryResponseMagic;
  h.opcode = request.opcode;
  h.key_len = static_cast<uint16_t>(key.size());
  h.extras_len = static_cast<uint8_t>(extras.size());
  h.vbucket_or_status = static_cast<uint16_t>(status);
  h.body_len = static_cast<uint32_t>(extras.size() + key.size() + value.size());
  h.opaque = request.opaque;
  h.cas = cas;
  char* p = out.Reserve(kBinaryHeaderSize + h.body_len);
  EncodeBinaryHeader(h, p);
  size_t n = kBinaryHeaderSize;
  for (std::string_view part : {extras, key, value}) {
    if (!part.empty()) std::memcpy(p + n, part.data(), part.size());
    n += part.size();
  }
  out.Commit(n);
}

void AppendBinaryError(common::ByteBuffer& out, const BinaryHeader& request, BinaryStatus status,
                       std::string_view text) {
  AppendBinaryResponse(out, request, status, 0, {}, {},
                       text.empty() ? BinaryStatusText(status) : text);
}

}  // namespace cachet::protocol
