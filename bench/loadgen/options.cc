#include "loadgen/options.h"

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "loadgen/keys.h"

namespace cachet::bench {
namespace {

constexpr const char* kUsage = R"(usage: loadgen [options]     (prints one JSON object on stdout)
  -s, --server HOST          default 127.0.0.1
  -p, --port PORT            default 11211
  -P, --protocol text|meta   text: get/set; meta: mg <key> v / ms <key> <len>
  -c, --connections N        default 4
  --pipeline N               requests written at once per connection (default 1)
  --multiget N               keys per get request (default 1)
  --ratio SET:GET            e.g. 1:9 (default 0:1, gets only)
  --keys N                   key space size (default 100000)
  --key-start N              first key id (default 0)
  --key-size B --value-size B   default 10 and 100
  --dist uniform|zipf|seq    seq: every key of the range once, in order, then stop
  --zipf-theta T             default 0.99
  --duration S | --requests N   how long to run (default --duration 1)
  --rate R                   fixed total request rate (latency from the intended send time)
  --lookaside                get; set the key on a miss (hit ratio after --warmup gets);
                             --requests counts the gets, warm-up included
  --warmup N                 first gets, excluded from the hit ratio
  --seed N                   default 1
  --tls                      speak TLS (the server's certificate is not verified)
  --handshakes N             instead of a load: N new TLS connections one after another,
                             each asking `version` then closing (handshake rate)
)";

[[noreturn]] void Usage(const char* why) {
  if (why != nullptr) std::fprintf(stderr, "loadgen: %s\n", why);
  std::fputs(kUsage, stderr);
  std::exit(2);
}

uint64_t ToU64(const char* s) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s, &end, 10);
  if (end == s || *end != '\0') Usage("bad number");
  return v;
}

double ToDouble(const char* s) {
  char* end = nullptr;
  const double v = std::strtod(s, &end);
  if (end == s || *end != '\0') Usage("bad number");
  return v;
}

}  // namespace

LoadConfig ParseLoadOptions(int argc, char** argv) {
  LoadConfig c;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "-h" || a == "--help") Usage(nullptr);
    if (a == "--lookaside") {
      c.lookaside = true;
      continue;
    }
    if (a == "--tls") {
      c.tls = true;
      continue;
    }
    if (i + 1 >= argc) Usage("missing value");
    const char* v = argv[++i];
    if (a == "-s" || a == "--server") {
      c.host = v;
    } else if (a == "-p" || a == "--port") {
      c.port = static_cast<int>(ToU64(v));
    } else if (a == "-P" || a == "--protocol") {
      const std::string_view p = v;
      if (p != "text" && p != "meta") Usage("protocol is text or meta");
      c.protocol = p == "text" ? Protocol::kText : Protocol::kMeta;
    } else if (a == "-c" || a == "--connections") {
      c.connections = static_cast<int>(ToU64(v));
    } else if (a == "--pipeline") {
      c.pipeline = static_cast<int>(ToU64(v));
    } else if (a == "--multiget") {
      c.multiget = static_cast<int>(ToU64(v));
    } else if (a == "--ratio") {
      const std::string_view r = v;
      const size_t colon = r.find(':');
      if (colon == std::string_view::npos) Usage("ratio is SET:GET");
      const double s = ToDouble(std::string(r.substr(0, colon)).c_str());
      const double g = ToDouble(std::string(r.substr(colon + 1)).c_str());
      if (s < 0 || g < 0 || s + g <= 0) Usage("bad ratio");
      c.set_fraction = s / (s + g);
    } else if (a == "--keys") {
      c.keys = ToU64(v);
    } else if (a == "--key-start") {
      c.key_start = ToU64(v);
    } else if (a == "--key-size") {
      c.key_size = ToU64(v);
    } else if (a == "--value-size") {
      c.value_size = ToU64(v);
    } else if (a == "--dist") {
      const std::string_view d = v;
      if (d == "uniform") {
        c.dist = KeyDist::kUniform;
      } else if (d == "zipf") {
        c.dist = KeyDist::kZipf;
      } else if (d == "seq") {
        c.dist = KeyDist::kSequential;
      } else {
        Usage("dist is uniform, zipf or seq");
      }
    } else if (a == "--zipf-theta") {
      c.zipf_theta = ToDouble(v);
    } else if (a == "--duration") {
      c.duration_s = ToDouble(v);
    } else if (a == "--requests") {
      c.requests = ToU64(v);
    } else if (a == "--rate") {
      c.rate = ToDouble(v);
    } else if (a == "--warmup") {
      c.warmup = ToU64(v);
    } else if (a == "--seed") {
      c.seed = ToU64(v);
    } else if (a == "--handshakes") {
      c.handshakes = ToU64(v);
      c.tls = true;
    } else {
      Usage("unknown option");
    }
  }
  if (c.connections < 1 || c.pipeline < 1 || c.multiget < 1 || c.keys < 1) {
    Usage("connections, pipeline, multiget and keys must be >= 1");
  }
  if (c.key_size < 1 || c.key_size > 250) Usage("key size is 1..250");
  if (!KeySizeFits(c.key_start + c.keys - 1, c.key_size)) Usage("key ids need more digits");
  if (c.dist == KeyDist::kZipf && (c.zipf_theta <= 0 || c.zipf_theta == 1.0)) {
    Usage("zipf theta must be > 0 and != 1");
  }
  if (c.lookaside && (c.multiget != 1 || c.set_fraction != 0)) {
    Usage("--lookaside issues single-key gets only");
  }
  if (c.lookaside && c.rate > 0) Usage("--lookaside runs closed-loop (no --rate)");
  if (c.duration_s <= 0 && c.requests == 0) c.duration_s = 1;
  return c;
}

}  // namespace cachet::bench
