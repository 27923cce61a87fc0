#pragma once
// The in-process harness of the session unit tests: the real ServerContext and store, one
// worker, a manual clock, no sockets. SessionT is TextSession, BinarySession or Session (the
// one that picks between them); each test file derives its fixture from SessionFixture<SessionT>.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "common/byte_buffer.h"
#include "common/clock.h"
#include "server/server_context.h"
#include "server/session_action.h"
#include "server/settings.h"

namespace cachet::server {

// 16 MiB, one thread, debugtime on.
inline Settings TestSettings() {
  Settings s;
  s.memory_limit = size_t{16} << 20;
  s.threads = 1;
  s.debugtime = true;
  return s;
}

template <typename SessionT>
class SessionFixture : public ::testing::Test {
 protected:
  explicit SessionFixture(const Settings& settings = TestSettings())
      : clock_(1'700'000'000),
        context_(settings, clock_),
        worker_(context_.AddWorker()),
        session_(context_, worker_) {}

  // Sends `input` and returns everything answered, calling Process() again while it produces
  // output (as a connection whose client reads everything); `closed`: the session hung up,
  // `on_error`: because the client broke the protocol.
  std::string Run(std::string_view input, bool* closed = nullptr, bool* on_error = nullptr) {
    in_.Append(input);
    std::string out;
    bool close = false;
    while (true) {
      const SessionAction action = session_.Process(in_, out_);
      if (on_error) *on_error = action == SessionAction::kCloseOnError;
      close = action == SessionAction::kClose || action == SessionAction::kCloseOnError;
      const bool had_output = !out_.empty();
      out += std::string(out_.readable());
      out_.Consume(out_.size());
      if (close || !had_output) break;
    }
    if (closed) *closed = close;
    return out;
  }

  common::ManualClock clock_;
  ServerContext context_;
  WorkerContext& worker_;
  SessionT session_;
  common::ByteBuffer in_;
  common::ByteBuffer out_;
};

}  // namespace cachet::server
