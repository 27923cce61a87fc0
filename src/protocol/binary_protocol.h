#pragma once
// memcached's binary protocol: the 24-byte header, opcodes, statuses and their fixed error texts,
// request framing and response encoding. Pure functions of bytes; no sockets, no storage.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/byte_buffer.h"

namespace cachet::protocol {

inline constexpr uint8_t kBinaryRequestMagic = 0x80;
inline constexpr uint8_t kBinaryResponseMagic = 0x81;
inline constexpr size_t kBinaryHeaderSize = 24;

namespace binop {
inline constexpr uint8_t kGet = 0x00, kSet = 0x01, kAdd = 0x02, kReplace = 0x03, kDelete = 0x04,
                         kIncrement = 0x05, kDecrement = 0x06, kQuit = 0x07, kFlush = 0x08,
                         kGetQ = 0x09, kNoop = 0x0a, kVersion = 0x0b, kGetK = 0x0c, kGetKQ = 0x0d,
                         kAppend = 0x0e, kPrepend = 0x0f, kStat = 0x10, kSetQ = 0x11, kAddQ = 0x12,
                         kReplaceQ = 0x13, kDeleteQ = 0x14, kIncrementQ = 0x15, kDecrementQ = 0x16,
                         kQuitQ = 0x17, kFlushQ = 0x18, kAppendQ = 0x19, kPrependQ = 0x1a,
                         kTouch = 0x1c, kGat = 0x1d, kGatQ = 0x1e, kSaslListMechs = 0x20,
                         kSaslAuth = 0x21, kSaslStep = 0x22, kGatK = 0x23, kGatKQ = 0x24;
}  // namespace binop

enum class BinaryStatus : uint16_t {
  kOk = 0x00,
  kKeyNotFound = 0x01,
  kKeyExists = 0x02,
  kTooLarge = 0x03,
  kInvalidArguments = 0x04,
  kNotStored = 0x05,
  kNonNumeric = 0x06,
  kAuthError = 0x20,
  kAuthContinue = 0x21,
  kUnknownCommand = 0x81,
  kOutOfMemory = 0x82,
};

// The fixed body memcached sends with each error status.
std::string_view BinaryStatusText(BinaryStatus status);

struct BinaryHeader {
  uint8_t magic = 0;
  uint8_t opcode = 0;
  uint16_t key_len = 0;
  uint8_t extras_len = 0;
  uint8_t data_type = 0;
  uint16_t vbucket_or_status = 0;
  uint32_t body_len = 0;
  uint32_t opaque = 0;  // echoed as received (byte order does not matter)
  uint64_t cas = 0;
};

// Decodes the first 24 bytes of `in` (which must hold them).
BinaryHeader DecodeBinaryHeader(std::string_view in);
void EncodeBinaryHeader(const BinaryHeader& h, char* dst);

// The opcode a quiet opcode is the silent form of (*quiet = true); others are their own base.
uint8_t BaseOpcode(uint8_t opcode, bool* quiet);

enum class BinaryShape : uint8_t {
  kValid,
  kInvalid,        // breaks memcached's length rules: "Invalid arguments", then close
  kUnknownOpcode,  // answered "Unknown command"; its body is skipped
};
// memcached's per-opcode length rules (and the 250-byte key limit), for a base opcode.
BinaryShape CheckBinaryShape(uint8_t base, const BinaryHeader& h);
// Whether a base opcode's body ends in a value (set, add, replace, append, prepend); other
// opcodes own only their extras and key.
bool CarriesValue(uint8_t base);

// A request whose header, extras and key are complete. The value may still be arriving: the
// caller reads `value_len` more bytes (or discards them) after the first `prefix_len` bytes.
struct BinaryRequest {
  BinaryHeader header;
  std::string_view extras;
  std::string_view key;
  uint32_t value_len = 0;  // body_len - extras - key
  size_t prefix_len = 0;   // header + extras + key
};

enum class BinaryFrame : uint8_t {
  kNeedMore,    // not even header + extras + key yet
  kReady,       // *req filled
  kBadMagic,    // not a request: the connection must be closed
  kBadLengths,  // extras + key longer than the body: answered, then the connection closes
};

BinaryFrame FrameBinaryRequest(std::string_view in, BinaryRequest* req);

// Appends a response: header (magic 0x81, the request's opcode and opaque) + extras + key +
// value.
void AppendBinaryResponse(common::ByteBuffer& out, const BinaryHeader& request, BinaryStatus status,
                          uint64_t cas, std::string_view extras, std::string_view key,
                          std::string_view value);
// An error response: no extras, no key, the status's fixed text (or `text`) as the body.
void AppendBinaryError(common::ByteBuffer& out, const BinaryHeader& request, BinaryStatus status,
                       std::string_view text = {});

// Big-endian helpers for extras.
uint32_t LoadBe32(const char* p);
uint64_t LoadBe64(const char* p);
void StoreBe32(uint32_t v, char* p);
void StoreBe64(uint64_t v, char* p);

}  // namespace cachet::protocol
