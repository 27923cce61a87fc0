#include "net/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <cstdio>

#include "net/tls_transport.h"

namespace cachet::net {
namespace {

constexpr int kVersions[] = {TLS1_VERSION, TLS1_1_VERSION, TLS1_2_VERSION, TLS1_3_VERSION};
constexpr int kVerifyModes[] = {
    SSL_VERIFY_NONE, SSL_VERIFY_PEER, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
    SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT | SSL_VERIFY_CLIENT_ONCE};
// memcached's session id context, so a client's cached session names the same thing.
constexpr char kSessionIdContext[] = "memcached";

// The oldest error on this thread's OpenSSL queue, as memcached quotes it.
std::string FirstError() {
  char buf[256] = {0};
  if (const unsigned long e = ERR_get_error(); e != 0) ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

// A file option that was not given: memcached hands OpenSSL a null path, whose fopen fails with
// EFAULT. That is undefined behaviour, so the same error is made here instead (its last line
// is memcached's; OpenSSL's two queue lines before it are missing).
std::string NotGiven() {
  char buf[256] = {0};
  ERR_error_string_n(ERR_SYSTEM_FLAG | EFAULT, buf, sizeof(buf));
  return std::string("(null) : ") + buf;
}

int CountNewSession(SSL* ssl, SSL_SESSION*) {
  if (TlsTransport* t = TlsTransport::Of(ssl)) t->stats().ssl_new_sessions.Add();
  return 0;  // the session was not kept by us
}

}  // namespace

TlsContext::~TlsContext() {
  common::MutexLock lock(mu_);
  SSL_CTX_free(current_);
}

SSL_CTX* TlsContext::Build(std::string* error, bool* cipher_error) {
  *cipher_error = false;
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) {
    *error = "Error creating the TLS context: " + FirstError();
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx, kVersions[settings_.min_version]);
  // Same order and messages as memcached's load_server_certificates().
  const auto& chain = settings_.chain_cert;
  const auto& key = settings_.key;
  if (!chain) {
    *error = "Error loading the certificate chain: " + NotGiven();
  } else if (!SSL_CTX_use_certificate_chain_file(ctx, chain->c_str())) {
    *error = "Error loading the certificate chain: " + *chain + " : " + FirstError();
  } else if (!key) {
    *error = "Error loading the key: " + NotGiven();
  } else if (!SSL_CTX_use_PrivateKey_file(ctx, key->c_str(), settings_.keyformat)) {
    *error = "Error loading the key: " + *key + " : " + FirstError();
  } else if (!SSL_CTX_check_private_key(ctx)) {
    *error = "Error validating the certificate: " + FirstError();
  } else if (settings_.ca_cert &&
             !SSL_CTX_load_verify_locations(ctx, settings_.ca_cert->c_str(), nullptr)) {
    *error = "Error loading the CA certificate: " + *settings_.ca_cert + " : " + FirstError();
  } else {
    error->clear();
  }
  if (!error->empty()) {
    ERR_print_errors_fp(stderr);  // what else OpenSSL reported, as memcached prints it
    SSL_CTX_free(ctx);
    return nullptr;
  }
  if (settings_.ca_cert) {
    SSL_CTX_set_client_CA_list(ctx, SSL_load_client_CA_file(settings_.ca_cert->c_str()));
  }
  SSL_CTX_set_verify(ctx, kVerifyModes[settings_.verify_mode], nullptr);
  if (settings_.ciphers && !SSL_CTX_set_cipher_list(ctx, settings_.ciphers->c_str())) {
    *error = "Error setting the provided cipher(s): " + *settings_.ciphers;
    *cipher_error = true;
    SSL_CTX_free(ctx);
    return nullptr;
  }
  if (settings_.session_cache) {
    SSL_CTX_sess_set_new_cb(ctx, CountNewSession);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_session_id_context(ctx, reinterpret_cast<const unsigned char*>(kSessionIdContext),
                                   sizeof(kSessionIdContext) - 1);
  } else {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  }
  if (settings_.kernel_tls) SSL_CTX_set_options(ctx, SSL_OP_ENABLE_KTLS);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
  // Idle connections give their record buffers back (as memcached); partial writes let one
  // SSL_write send what the socket takes of a large reply, from a buffer that may move.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  ERR_clear_error();  // the queue is the thread's: a worker's next SSL_get_error reads it
  return ctx;
}

int TlsContext::Init() {
  std::string error;
  bool cipher_error = false;
  SSL_CTX* ctx = Build(&error, &cipher_error);
  if (ctx == nullptr) {
    // memcached ends the certificate messages with CRLF (they double as replies), the cipher
    // one with LF.
    std::fprintf(stderr, "%s%s", error.c_str(), cipher_error ? "\n" : "\r\n");
    return 64;  // EX_USAGE
  }
  common::MutexLock lock(mu_);
  current_ = ctx;
  return 0;
}

bool TlsContext::Reload(std::string* error) {
  bool cipher_error = false;
  SSL_CTX* ctx = Build(error, &cipher_error);
  if (ctx == nullptr) return false;
  SSL_CTX* old;
  {
    common::MutexLock lock(mu_);
    old = current_;
    current_ = ctx;
  }
  SSL_CTX_free(old);  // connections made from it hold their own references
  return true;
}

SSL* TlsContext::NewSsl() {
  common::MutexLock lock(mu_);
  return SSL_new(current_);
}

}  // namespace cachet::net
