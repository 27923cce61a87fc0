#include "server/cyrus_sasl.h"

#include <sasl/sasl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace cachet::server {
namespace {

constexpr const char* kConfigFiles[] = {"/etc/sasl/memcached.conf", "/etc/sasl2/memcached.conf"};
constexpr const char* kConfigDirs[] = {"/etc/sasl", "/etc/sasl2"};
constexpr const char* kConfigInDirs[] = {"/etc/sasl/memcached.conf/memcached.conf",
                                         "/etc/sasl2/memcached.conf/memcached.conf"};

// memcached's sasl_getconf for Cyrus's SASL_CB_GETCONFPATH: a directory to read memcached.conf
// from.
int GetConfPath(void* context, char** path) {
  const int verbose = *static_cast<const int*>(context);
  const char* p = std::getenv("SASL_CONF_PATH");
  for (size_t i = 0; p == nullptr && i < 2; ++i) {
    if (::access(kConfigInDirs[i], F_OK) == 0) {
      p = kConfigFiles[i];
    } else if (::access(kConfigFiles[i], F_OK) == 0) {
      p = kConfigDirs[i];
    }
  }
  if (verbose > 0) {
    if (p != nullptr) {
      std::fprintf(stderr, "Reading configuration from: <%s>\n", p);
    } else {
      std::fprintf(stderr, "Failed to locate a config path\n");
    }
  }
  *path = const_cast<char*>(p);
  return p != nullptr ? SASL_OK : SASL_FAIL;
}

int Log(void* context, int level, const char* message) {
  const int verbose = *static_cast<const int*>(context);
  const int needed = level == SASL_LOG_NONE                               ? 99
                     : (level == SASL_LOG_WARN || level == SASL_LOG_FAIL) ? 1
                     : (level >= SASL_LOG_NOTE && level <= SASL_LOG_PASS) ? 2
                                                                          : 0;
  if (verbose >= needed) std::fprintf(stderr, "SASL (severity %d): %s\n", level, message);
  return SASL_OK;
}

using Callback = int (*)();
// Cyrus stores every callback as int(*)(void) and calls it with the type its id implies; the
// detour through void(*)(void) says the cast is meant.
template <typename F>
Callback AsCallback(F* f) {
  return reinterpret_cast<Callback>(reinterpret_cast<void (*)()>(f));
}

SaslExchange::Result Map(int rc) {
  return rc == SASL_OK         ? SaslExchange::Result::kOk
         : rc == SASL_CONTINUE ? SaslExchange::Result::kContinue
                               : SaslExchange::Result::kFail;
}

class CyrusExchange final : public SaslExchange {
 public:
  CyrusExchange(common::Mutex& mu, sasl_conn_t* conn) : mu_(mu), conn_(conn) {}
  ~CyrusExchange() override {
    common::MutexLock lock(mu_);
    sasl_dispose(&conn_);
  }

  bool Mechanisms(std::string* out) override {
    common::MutexLock lock(mu_);
    const char* list = nullptr;
    unsigned len = 0;
    if (sasl_listmech(conn_, nullptr, "", " ", "", &list, &len, nullptr) != SASL_OK) return false;
    out->assign(list, len);
    return true;
  }

  Result Start(std::string_view mechanism, std::string_view data, std::string* out) override {
    const std::string mech(mechanism);  // Cyrus wants it NUL-terminated
    common::MutexLock lock(mu_);
    const char* reply = nullptr;
    unsigned len = 0;
    const int rc = sasl_server_start(conn_, mech.c_str(), data.empty() ? nullptr : data.data(),
                                     static_cast<unsigned>(data.size()), &reply, &len);
    Output(rc, reply, len, out);
    return Map(rc);
  }

  Result Step(std::string_view data, std::string* out) override {
    common::MutexLock lock(mu_);
    const char* reply = nullptr;
    unsigned len = 0;
    const int rc = sasl_server_step(conn_, data.empty() ? nullptr : data.data(),
                                    static_cast<unsigned>(data.size()), &reply, &len);
    Output(rc, reply, len, out);
    return Map(rc);
  }

 private:
  static void Output(int rc, const char* reply, unsigned len, std::string* out) {
    if (rc == SASL_CONTINUE && reply != nullptr) {
      out->assign(reply, len);
    } else {
      out->clear();
    }
  }

  common::Mutex& mu_;
  sasl_conn_t* conn_ CACHET_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<CyrusSasl> CyrusSasl::Init(int verbose) {
  std::unique_ptr<CyrusSasl> sasl(new CyrusSasl());
  sasl->verbose_ = verbose;
  char host[1025] = {0};
  if (::gethostname(host, sizeof(host) - 1) == 0) sasl->hostname_ = host;
  // Cyrus keeps this table for the life of the process: it is the object's own.
  void* context = &sasl->verbose_;
  sasl->callbacks_ = {{
      {SASL_CB_LOG, AsCallback(Log), context},
      {SASL_CB_GETCONFPATH, AsCallback(GetConfPath), context},
      {SASL_CB_LIST_END, nullptr, nullptr},
  }};
  if (sasl_server_init(sasl->callbacks_.data(), "memcached") != SASL_OK) return nullptr;
  sasl->initialised_ = true;
  return sasl;
}

CyrusSasl::~CyrusSasl() {
  if (initialised_) sasl_server_done();
}

std::unique_ptr<SaslExchange> CyrusSasl::NewExchange() {
  common::MutexLock lock(mu_);
  sasl_conn_t* conn = nullptr;
  if (sasl_server_new("memcached", nullptr, hostname_.empty() ? nullptr : hostname_.c_str(),
                      nullptr, nullptr, nullptr, 0, &conn) != SASL_OK) {
    return nullptr;
  }
  return std::make_unique<CyrusExchange>(mu_, conn);
}

}  // namespace cachet::server
