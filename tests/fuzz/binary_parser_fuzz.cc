// libFuzzer target for binary framing and the per-opcode wire rules: never reads past the input,
// the declared lengths add up, a request the rules admit has the lengths its opcode needs, and
// every response it would compose round-trips through the header codec.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "protocol/binary_protocol.h"
#include "protocol/key_syntax.h"

namespace {
void Check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cachet::protocol;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  for (int guard = 0; guard < 10000 && !in.empty(); ++guard) {
    BinaryRequest req;
    const BinaryFrame f = FrameBinaryRequest(in, &req);
    if (f != BinaryFrame::kReady) break;
    const BinaryHeader& h = req.header;
    Check(req.extras.size() == h.extras_len && req.key.size() == h.key_len);
    Check(req.prefix_len == kBinaryHeaderSize + h.extras_len + h.key_len);
    Check(req.prefix_len <= in.size());
    Check(uint64_t{req.value_len} + h.extras_len + h.key_len == h.body_len);
    Check(req.extras.data() == in.data() + kBinaryHeaderSize);
    // The wire rules: a base opcode is its own base, and what they admit is well-formed.
    bool quiet = false;
    const uint8_t base = BaseOpcode(h.opcode, &quiet);
    bool base_quiet = true;
    Check(BaseOpcode(base, &base_quiet) == base && !base_quiet);
    Check(quiet == (base != h.opcode));
    const BinaryShape shape = CheckBinaryShape(base, h);
    if (shape != BinaryShape::kInvalid) Check(h.key_len <= kMaxKeyLength);
    if (shape == BinaryShape::kValid && CarriesValue(base)) {
      Check(h.key_len > 0);
      const bool concat = base == binop::kAppend || base == binop::kPrepend;
      Check(h.extras_len == (concat ? 0 : 8));
    }
    if (shape == BinaryShape::kValid && !CarriesValue(base) && base != binop::kTouch &&
        base != binop::kGat && base != binop::kGatK && base != binop::kStat) {
      Check(req.value_len == 0);  // fixed-shape opcodes own exactly their extras and key
    }
    // Compose a response from what was parsed and decode it again.
    cachet::common::ByteBuffer out;
    AppendBinaryResponse(out, h, BinaryStatus::kOk, h.cas, req.extras, req.key, {});
    const BinaryHeader r = DecodeBinaryHeader(out.readable());
    Check(r.magic == kBinaryResponseMagic && r.opcode == h.opcode && r.opaque == h.opaque);
    Check(r.cas == h.cas && r.key_len == h.key_len && r.extras_len == h.extras_len);
    Check(out.size() == kBinaryHeaderSize + r.body_len);
    const size_t total = req.prefix_len + req.value_len;
    if (total > in.size()) break;  // the value has not arrived
    in.remove_prefix(total);
  }
  return 0;
}
