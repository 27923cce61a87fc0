#pragma once
// SaslAuthenticator over Cyrus SASL, set up as memcached 1.6.18 sets it up: application name
// "memcached", configuration (memcached.conf: mech_list, sasldb_path, ...) from the directory in
// SASL_CONF_PATH or else /etc/sasl or /etc/sasl2, users from the sasldb it names (made with
// `saslpasswd2 -a memcached`, realm: the host name by default). Cyrus's log lines go to stderr
// at memcached's verbosity levels.
//
// Threading: Cyrus keeps process-wide state; the calls of all connections are serialised under
// one mutex (authentication is rare, and the sasldb plugins were not written for threads).
#include <sasl/sasl.h>

#include <array>
#include <memory>
#include <string>

#include "common/mutex.h"
#include "server/sasl.h"

namespace cachet::server {

class CyrusSasl final : public SaslAuthenticator {
 public:
  // sasl_server_init; nullptr when Cyrus refuses (no configuration found).
  static std::unique_ptr<CyrusSasl> Init(int verbose);
  ~CyrusSasl() override;

  std::unique_ptr<SaslExchange> NewExchange() override;

 private:
  CyrusSasl() = default;
  common::Mutex mu_;      // serialises every call into Cyrus
  std::string hostname_;  // the default realm, as memcached passes it
  int verbose_ = 0;       // -v level for Cyrus's log lines
  bool initialised_ = false;
  std::array<sasl_callback_t, 3> callbacks_{};
};

}  // namespace cachet::server
