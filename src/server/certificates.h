#pragma once
// What server/ needs from the TLS layer: reloading the certificate files for `refresh_certs`
// (and SIGHUP). net/'s TLS context implements it and is installed into the ServerContext when
// -Z is on; without it the command answers memcached's "Error TLS not enabled".
#include <string>

namespace cachet::server {

class CertificateReloader {
 public:
  virtual ~CertificateReloader() = default;
  // Loads the chain, key and CA files again. On failure `error` gets memcached's message
  // ("Error loading the key: <path> : <OpenSSL error>") and the files loaded before stay in use.
  // Safe to call from any thread.
  virtual bool Reload(std::string* error) = 0;
};

}  // namespace cachet::server
