// libFuzzer target for binary framing: never reads past the input, the declared lengths add up,
// and every response it would compose round-trips through the header codec.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "protocol/binary_protocol.h"

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
