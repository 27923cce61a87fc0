// libFuzzer target for whole protocol sessions (text, meta and binary, chosen by the first byte
// as on a real connection), run on the real store with a fixed clock. The invariant: feeding the
// input whole or in fragments of a size the input picks gives byte-identical replies and the
// same close decision, and the session never stalls with unread complete input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/byte_buffer.h"
#include "common/clock.h"
#include "server/server_context.h"
#include "server/session.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

// Stats report the process's CPU time, which differs between the two runs, and conn_yields,
// which counts -R's limit being reached in one read (so depends on how the input was cut):
// blank them out.
void BlankStat(std::string* s, std::string_view name) {
  for (size_t at = s->find(name); at != std::string::npos; at = s->find(name, at + 1)) {
    size_t i = at + name.size();
    while (i < s->size() && ((*s)[i] == '_' || ((*s)[i] >= 'a' && (*s)[i] <= 'z'))) ++i;
    if (i < s->size() && (*s)[i] == ' ') ++i;
    // The whole number becomes one 'x': its length changes too (9.99 s of CPU, then 10.00).
    size_t end = i;
    while (end < s->size() && (((*s)[end] >= '0' && (*s)[end] <= '9') || (*s)[end] == '.')) {
      ++end;
    }
    if (end > i) s->replace(i, end - i, "x");
  }
}

struct Run {
  std::string out;
  bool closed = false;
};

Run Feed(std::string_view input, size_t step) {
  cachet::server::Settings settings;
  settings.memory_limit = size_t{8} << 20;
  settings.threads = 1;
  settings.item_size_max = 64 * 1024;
  settings.debugtime = true;
  cachet::common::ManualClock clock(1'700'000'000);
  cachet::server::ServerContext context(settings, clock);
  cachet::server::WorkerContext& worker = context.AddWorker();
  cachet::server::Session session(context, worker);
  cachet::common::ByteBuffer in, out;
  Run run;
  size_t pos = 0;
  while (pos < input.size() && !run.closed) {
    const size_t n = std::min(step, input.size() - pos);
    in.Append(input.substr(pos, n));
    pos += n;
    // Like a connection whose client reads everything: process until no progress is made.
    for (int rounds = 0; rounds < 100000; ++rounds) {
      const size_t in_before = in.size();
      // A watcher's socket leaves the session for good, as a closed one does.
      const cachet::server::SessionAction action = session.Process(in, out);
      const bool close = action == cachet::server::SessionAction::kClose ||
                         action == cachet::server::SessionAction::kWatch;
      const bool produced = !out.empty();
      run.out.append(out.readable());
      out.Consume(out.size());
      if (close) {
        run.closed = true;
        break;
      }
      // A yielded session (-R, or a listing between slices) must be driven again.
      if (!produced && in.size() == in_before && !session.yielded()) break;
    }
  }
  return run;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2 || size > 8192) return 0;
  const size_t step = 1 + data[0] % 16;  // the first byte picks the fragment size
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  Run whole = Feed(input, input.size());
  Run pieces = Feed(input, step);
  // metadump and watch must come first in what a client sent at once (memcached's rule), so
  // their replies depend on how the input was cut: such inputs are only run, not compared.
  if (input.find("metadump") != std::string_view::npos ||
      input.find("watch") != std::string_view::npos) {
    return 0;
  }
  for (std::string* out : {&whole.out, &pieces.out}) {
    BlankStat(out, "rusage_");
    BlankStat(out, "conn_yields");
  }
  if (std::getenv("SESSION_FUZZ_DEBUG") != nullptr && whole.out != pieces.out) {
    std::fprintf(stderr, "--- whole (step %zu)\n%s\n--- pieces\n%s\n", step, whole.out.c_str(),
                 pieces.out.c_str());
  }
  Check(whole.closed == pieces.closed);
  Check(whole.out == pieces.out);
  return 0;
}
