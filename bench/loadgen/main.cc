// loadgen: a memcached load generator that validates every reply (see options.cc for flags).
// Prints one JSON object; exits 1 if a connection failed or was dropped, 3 if any reply was an
// error, 0 otherwise.
#include <cstdio>
#include <string>

#include "loadgen/handshake_run.h"
#include "loadgen/load_run.h"
#include "loadgen/options.h"

namespace cachet::bench {
namespace {

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out.push_back('\\');
    out.push_back(static_cast<unsigned char>(ch) < 0x20 ? '?' : ch);
  }
  return out + "\"";
}

void PrintJson(const LoadConfig& c, const LoadResult& r) {
  const double secs = r.seconds > 0 ? r.seconds : 1e-9;
  const uint64_t ops = r.get_keys + r.sets;
  const auto us = [&](double q) { return static_cast<double>(r.latency.Quantile(q)) / 1e3; };
  std::printf(
      "{\"protocol\": \"%s\", \"connections\": %d, \"pipeline\": %d, \"multiget\": %d, "
      "\"set_fraction\": %.4f, \"rate\": %.1f,\n"
      " \"requests\": %llu, \"ops\": %llu, \"get_keys\": %llu, \"sets\": %llu, \"hits\": %llu, "
      "\"misses\": %llu, \"errors\": %llu, \"fatal\": %s,\n"
      " \"seconds\": %.6f, \"ops_per_sec\": %.1f, \"requests_per_sec\": %.1f,\n"
      " \"latency_us\": {\"p50\": %.2f, \"p90\": %.2f, \"p99\": %.2f, \"p999\": %.2f, "
      "\"max\": %.2f, \"mean\": %.2f}",
      c.protocol == Protocol::kText ? "text" : "meta", c.connections, c.pipeline, c.multiget,
      c.set_fraction, c.rate, static_cast<unsigned long long>(r.requests),
      static_cast<unsigned long long>(ops), static_cast<unsigned long long>(r.get_keys),
      static_cast<unsigned long long>(r.sets), static_cast<unsigned long long>(r.hits),
      static_cast<unsigned long long>(r.misses), static_cast<unsigned long long>(r.errors),
      r.fatal.empty() ? "null" : JsonString(r.fatal).c_str(), r.seconds,
      static_cast<double>(ops) / secs, static_cast<double>(r.requests) / secs, us(0.5), us(0.9),
      us(0.99), us(0.999), static_cast<double>(r.latency.max()) / 1e3, r.latency.mean() / 1e3);
  if (c.lookaside) {
    char ratio[32] = "null";  // no gets after the warm-up
    if (r.lookaside_gets != 0) {
      std::snprintf(ratio, sizeof(ratio), "%.6f",
                    static_cast<double>(r.lookaside_hits) / static_cast<double>(r.lookaside_gets));
    }
    std::printf(
        ",\n \"lookaside\": {\"warmup_gets\": %llu, \"measured_gets\": %llu, \"hits\": %llu, "
        "\"hit_ratio\": %s}",
        static_cast<unsigned long long>(c.warmup),
        static_cast<unsigned long long>(r.lookaside_gets),
        static_cast<unsigned long long>(r.lookaside_hits), ratio);
  }
  std::printf("}\n");
}

}  // namespace
}  // namespace cachet::bench

int main(int argc, char** argv) {
  using namespace cachet::bench;
  const LoadConfig config = ParseLoadOptions(argc, argv);
  if (config.handshakes > 0) {
    HandshakeResult r;
    const bool ok = RunHandshakes(config, &r);
    std::printf(
        "{\"handshakes\": %llu, \"seconds\": %.6f, \"handshakes_per_sec\": %.1f, "
        "\"fatal\": %s}\n",
        static_cast<unsigned long long>(r.done), r.seconds,
        r.seconds > 0 ? static_cast<double>(r.done) / r.seconds : 0.0,
        r.fatal.empty() ? "null" : JsonString(r.fatal).c_str());
    return ok && r.fatal.empty() ? 0 : 1;
  }
  LoadResult result;
  const bool connected = RunLoad(config, &result);
  PrintJson(config, result);
  if (!connected || !result.fatal.empty()) return 1;
  return result.errors != 0 ? 3 : 0;
}
