#pragma once
// -S: what a binary session needs from SASL. One SaslAuthenticator per process (Cyrus SASL in
// server/cyrus_sasl.h, where the users live in a sasldb); one SaslExchange per connection, made
// at its first SASL command, holding the state of a multi-step mechanism such as CRAM-MD5.
#include <memory>
#include <string>
#include <string_view>

namespace cachet::server {

class SaslExchange {
 public:
  enum class Result { kOk, kContinue, kFail };
  virtual ~SaslExchange() = default;
  // The mechanisms, space-separated ("PLAIN CRAM-MD5"); false if the library cannot list them.
  virtual bool Mechanisms(std::string* out) = 0;
  // SASL_AUTH: starts `mechanism` with the client's first message; `*out` gets the challenge
  // (kContinue) or nothing.
  virtual Result Start(std::string_view mechanism, std::string_view data, std::string* out) = 0;
  // SASL_STEP: the client's answer to the last challenge of the exchange Start began.
  virtual Result Step(std::string_view data, std::string* out) = 0;
};

class SaslAuthenticator {
 public:
  virtual ~SaslAuthenticator() = default;
  // A new exchange for one connection (nullptr if the library cannot make one).
  virtual std::unique_ptr<SaslExchange> NewExchange() = 0;
};

}  // namespace cachet::server
