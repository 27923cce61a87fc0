// Parser micro benchmarks: the text parser on the three lines a cache sees most (get, set with
// its data block, meta mg) and the binary header decode and framing. Absolute ns are only
// comparable on one machine; use them to see a parser change, not to compare servers.
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>

#include "protocol/binary_protocol.h"
#include "protocol/text_parser.h"

namespace cachet::protocol {
namespace {

void ParseLoop(benchmark::State& state, const std::string& input) {
  TextRequest req;
  size_t consumed = 0;
  for (auto _ : state) {
    const ParseStatus s = ParseTextRequest(input, &req, &consumed);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(req.key.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * input.size()));
}

void BM_TextParseGet(benchmark::State& state) { ParseLoop(state, "get 0000012345\r\n"); }
BENCHMARK(BM_TextParseGet);

void BM_TextParseGet16(benchmark::State& state) {
  std::string line = "get";
  for (int i = 0; i < 16; ++i) line += " 00000123" + std::to_string(10 + i);
  ParseLoop(state, line + "\r\n");
}
BENCHMARK(BM_TextParseGet16);

void BM_TextParseSet(benchmark::State& state) {
  ParseLoop(state, "set 0000012345 0 0 100\r\n" + std::string(100, 'v') + "\r\n");
}
BENCHMARK(BM_TextParseSet);

void BM_TextParseMetaGet(benchmark::State& state) { ParseLoop(state, "mg 0000012345 v f t\r\n"); }
BENCHMARK(BM_TextParseMetaGet);

std::string BinaryGet() {
  BinaryHeader h;
  h.magic = kBinaryRequestMagic;
  h.opcode = binop::kGetK;
  h.key_len = 10;
  h.body_len = 10;
  h.opaque = 7;
  std::string buf(kBinaryHeaderSize, '\0');
  EncodeBinaryHeader(h, buf.data());
  return buf + "0000012345";
}

void BM_BinaryHeaderDecode(benchmark::State& state) {
  const std::string in = BinaryGet();
  for (auto _ : state) {
    BinaryHeader h = DecodeBinaryHeader(in);
    benchmark::DoNotOptimize(h);
  }
}
BENCHMARK(BM_BinaryHeaderDecode);

void BM_BinaryFrameGet(benchmark::State& state) {
  const std::string in = BinaryGet();
  BinaryRequest req;
  for (auto _ : state) {
    const BinaryFrame f = FrameBinaryRequest(in, &req);
    benchmark::DoNotOptimize(f);
    benchmark::DoNotOptimize(req.key.data());
  }
}
BENCHMARK(BM_BinaryFrameGet);

}  // namespace
}  // namespace cachet::protocol
