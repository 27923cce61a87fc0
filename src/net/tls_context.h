#pragma once
// -Z: the TLS server context, and the one owner of the certificate, key and CA files.
//
// The context is OpenSSL's SSL_CTX configured as memcached 1.6.18 configures its own (minimum
// version, client verification, cipher list, session cache, kernel TLS, no renegotiation,
// buffers released while idle). A new connection takes its SSL from the context current when
// it is accepted. Reloading (`refresh_certs`, SIGHUP) builds a whole new context from the same
// files and swaps it in only when everything loaded and the key matches the certificate: a bad
// or mismatched file leaves the old certificate serving (memcached loads into its live context,
// so a key that does not match leaves new handshakes failing). Open connections keep the
// context they were made from (an SSL holds a reference to it).
//
// Threading: NewSsl runs on the workers, Reload on a worker (refresh_certs) or the main thread
// (SIGHUP); the current context is swapped under a mutex.
#include <openssl/types.h>

#include <string>

#include "common/mutex.h"
#include "server/certificates.h"
#include "server/settings.h"

namespace cachet::net {

class TlsContext final : public server::CertificateReloader {
 public:
  explicit TlsContext(const server::TlsSettings& settings) : settings_(settings) {}
  ~TlsContext() override;
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // Start-up: builds the first context. On a file or cipher-list error prints memcached's
  // messages (OpenSSL's error queue, then "Error loading ...") and returns its exit code, 64.
  int Init();

  bool Reload(std::string* error) override;

  // A server-side SSL for a new connection from the current context (nullptr if OpenSSL cannot
  // make one), for a TlsTransport to take.
  SSL* NewSsl();

 private:
  // A configured context, or nullptr with memcached's message in `error` (no CRLF).
  SSL_CTX* Build(std::string* error, bool* cipher_error);

  const server::TlsSettings settings_;
  common::Mutex mu_;
  SSL_CTX* current_ CACHET_GUARDED_BY(mu_) = nullptr;
};

}  // namespace cachet::net
