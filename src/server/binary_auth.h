#pragma once
// -S: one binary connection's SASL state, as memcached 1.6.18 keeps it. Before the client
// authenticates only VERSION and the SASL commands run (the session answers anything else with
// "Auth failure." and closes). Every SASL command starts by de-authenticating the connection,
// as memcached's init_sasl_conn does, so a failed re-authentication leaves it unauthenticated.
// The exchange with the SASL library is made at the first SASL command and kept.
#include <cstdint>
#include <memory>
#include <string_view>

#include "common/byte_buffer.h"
#include "protocol/binary_protocol.h"
#include "server/sasl.h"
#include "server/thread_stats.h"

namespace cachet::server {

class BinaryAuth {
 public:
  // `sasl` nullptr: SASL is off (-S not given) and every command is admitted.
  explicit BinaryAuth(SaslAuthenticator* sasl) : sasl_(sasl) {}

  bool enabled() const { return sasl_ != nullptr; }
  static bool IsSasl(uint8_t opcode) {
    return opcode == protocol::binop::kSaslListMechs || opcode == protocol::binop::kSaslAuth ||
           opcode == protocol::binop::kSaslStep;
  }
  // Whether a request with `opcode` may run now.
  bool Admits(uint8_t opcode) const {
    return sasl_ == nullptr || authenticated_ || opcode == protocol::binop::kVersion ||
           IsSasl(opcode);
  }
  // memcached passes mechanism names up to this long to the library (longer: "Invalid
  // arguments", the body skipped, the connection kept).
  static constexpr size_t kMaxMechanism = 32;

  // Runs SASL_LIST_MECHS, SASL_AUTH (`mechanism` = the key, `data` = the value) or SASL_STEP
  // and appends the reply; successes and failures (not continuations) count in auth_cmds and
  // auth_errors.
  void Execute(const protocol::BinaryHeader& h, std::string_view mechanism, std::string_view data,
               common::ByteBuffer& out, ThreadStats& stats);

 private:
  SaslAuthenticator* const sasl_;
  std::unique_ptr<SaslExchange> exchange_;
  bool started_ = false;  // a SASL_AUTH began an exchange (SASL_STEP continues it)
  bool authenticated_ = false;
};

}  // namespace cachet::server
