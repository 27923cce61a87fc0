// cachet: a memcached-compatible cache server. Builds Settings from the command line, then runs
// the network front until SIGTERM, SIGINT or SIGUSR1 (with -e, saving the cache after it).
#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <pwd.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "app/flags.h"
#include "common/clock.h"
#include "net/metrics_server.h"
#include "net/net_server.h"
#include "net/tls_context.h"
#include "server/cyrus_sasl.h"
#include "server/server_context.h"

namespace {

// Like memcached, make room for -c connections; unlike it, never lower a higher limit.
bool RaiseFileLimit(int max_connections) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) {
    std::fprintf(stderr, "failed to getrlimit number of files\n");
    return false;
  }
  const rlim_t want = static_cast<rlim_t>(max_connections) + 64;  // listeners, epoll, eventfds
  if (rl.rlim_cur >= want) return true;
  rl.rlim_cur = want;
  if (rl.rlim_max < want) rl.rlim_max = want;
  if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) {
    std::fprintf(stderr,
                 "failed to set rlimit for open files. Try starting as root or requesting "
                 "smaller maxconns value.\n");
    return false;
  }
  return true;
}

// memcached's exit codes: EX_USAGE without -u, EX_NOUSER for an unknown user.
int DropPrivileges(const std::string& user) {
  if (::getuid() != 0 && ::geteuid() != 0) return 0;  // only root switches, as memcached
  if (user.empty()) {
    std::fprintf(stderr, "can't run as root without the -u switch\n");
    return 64;
  }
  const passwd* pw = ::getpwnam(user.c_str());
  if (pw == nullptr) {
    std::fprintf(stderr, "can't find the user %s to switch to\n", user.c_str());
    return 67;
  }
  if (::setgroups(0, nullptr) < 0 && pw->pw_uid != 0) {
    std::fprintf(stderr, "failed to drop supplementary groups\n");
    return 71;
  }
  if (::setgid(pw->pw_gid) < 0 || ::setuid(pw->pw_uid) < 0) {
    std::fprintf(stderr, "failed to assume identity of user %s\n", user.c_str());
    return 71;
  }
  return 0;
}

// -d: detach like memcached's daemonize(): fork, the parent exits 0, the child starts a new
// session with stdio on /dev/null (kept when verbose, so -v output still goes somewhere).
// Called after binding, so a bind failure still reaches the caller's exit status.
bool Daemonize(bool keep_stdio) {
  const pid_t pid = ::fork();
  if (pid < 0) {
    std::perror("fork");
    return false;
  }
  if (pid > 0) ::_exit(EXIT_SUCCESS);
  if (::setsid() < 0) return false;
  if (::chdir("/") != 0) return false;
  if (!keep_stdio) {
    const int null_fd = ::open("/dev/null", O_RDWR);
    if (null_fd < 0) return false;
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(null_fd, STDOUT_FILENO);
    ::dup2(null_fd, STDERR_FILENO);
    if (null_fd > STDERR_FILENO) ::close(null_fd);
  }
  return true;
}

// Like memcached: written through <file>.tmp and a rename; a failure is only a warning.
void WritePidFile(const std::string& path) {
  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) {
    std::fprintf(stderr, "Could not open the pid file %s for writing: %s\n", tmp.c_str(),
                 std::strerror(errno));
    return;
  }
  std::fprintf(f, "%ld\n", static_cast<long>(::getpid()));
  if (std::fclose(f) != 0 || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::fprintf(stderr, "Could not save the pid file %s: %s\n", path.c_str(),
                 std::strerror(errno));
  }
}

// -Y: memcached's messages (its malformed one has no newline). A failed reload keeps the
// credentials loaded before.
bool LoadAuthFile(cachet::server::ServerContext& context, bool startup) {
  using Result = cachet::server::AuthFile::LoadResult;
  const std::string& path = context.settings().auth_file;
  int error = 0;
  switch (context.auth_file().Load(path, &error)) {
    case Result::kOk:
      return true;
    case Result::kOpenFailed:
      std::fprintf(stderr, "Could not open authfile [%s] for reading, error %s: %s\n", path.c_str(),
                   std::strerror(error), std::strerror(error));
      break;
    case Result::kMalformed:
      std::fprintf(stderr, "Authfile [%s] has a malformed entry. Should be 'user:password'%s",
                   path.c_str(), startup ? "" : "\n");
      break;
  }
  return false;
}

// SIGHUP: the -Y file is read again (as memcached does) and the certificates are reloaded as
// `refresh_certs` does; a failure keeps what was loaded before and is reported on stderr.
void Reload(cachet::server::ServerContext& context) {
  if (!context.settings().auth_file.empty()) LoadAuthFile(context, /*startup=*/false);
  if (!context.settings().tls.enabled) return;
  std::string error;
  if (!context.RefreshCerts(&error)) std::fprintf(stderr, "%s\n", error.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  // Connection buffers past 128 KiB (large values, replies a client does not read) come from
  // mmap and go back to the kernel when freed. glibc would otherwise raise this threshold after
  // the first such free and serve them from its heap, which keeps the memory after a client is
  // closed: RSS would not come back down after a burst of hostile clients.
  ::mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  cachet::server::Settings settings;
  int exit_code = 0;
  switch (cachet::app::ParseFlags(argc, argv, &settings, &exit_code)) {
    case cachet::app::FlagsResult::kExitOk:
      return 0;
    case cachet::app::FlagsResult::kExitError:
      return exit_code;
    case cachet::app::FlagsResult::kRun:
      break;
  }
  if (const char* f = std::getenv("MEMCACHED_PORT_FILENAME")) settings.port_file = f;
  if (const char* d = std::getenv("CACHET_DEBUGTIME"))
    settings.debugtime = std::strcmp(d, "1") == 0;

  // Like memcached, the TLS files are read before the privileges are dropped.
  cachet::net::TlsContext tls(settings.tls);
  if (settings.tls.enabled) {
    if (const int rc = tls.Init(); rc != 0) return rc;
  }
  if (!RaiseFileLimit(settings.max_connections)) return 71;  // memcached's EX_OSERR
  if (const int rc = DropPrivileges(settings.user); rc != 0) return rc;
  // Like memcached, SASL starts as the user the server runs as.
  std::unique_ptr<cachet::server::CyrusSasl> sasl;
  if (settings.sasl) {
    sasl = cachet::server::CyrusSasl::Init(settings.verbose);
    if (sasl == nullptr) {
      std::fprintf(stderr, "Error initializing sasl.\n");
      return EXIT_FAILURE;
    }
  }

  // Signals are taken synchronously by the acceptor loop through a signalfd; workers never see
  // them (the mask is inherited by the threads started below).
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGUSR1);  // memcached's graceful stop (its -e saves on it; cachet's on all)
  sigaddset(&mask, SIGHUP);   // reload: TLS certificates (memcached ignores it) and the -Y file
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  const int stop_fd = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (stop_fd < 0) {
    std::perror("signalfd");
    return EXIT_FAILURE;
  }

  cachet::common::SystemClock clock;
  cachet::server::ServerContext context(settings, clock);
  context.set_sasl(sasl.get());
  if (!settings.auth_file.empty()) {
    if (settings.udp_port != 0) {
      std::fprintf(stderr, "Cannot use UDP with ascii authentication enabled (-U 0 to disable)\n");
      return 64;
    }
    if (!LoadAuthFile(context, /*startup=*/true)) return EXIT_FAILURE;
  }
  cachet::server::MemoryFile* memory_file = context.memory_file();
  // -e: the whole file is loaded (or rejected) before anything is served.
  if (memory_file != nullptr) memory_file->Load();
  auto net =
      std::make_unique<cachet::net::NetServer>(context, settings.tls.enabled ? &tls : nullptr);
  if (!net->Listen()) return 71;  // memcached's EX_OSERR when it cannot bind
  cachet::net::MetricsServer metrics(context);
  if (settings.metrics_port != 0 &&
      !metrics.Listen(settings.metrics_address, settings.metrics_port)) {
    return 71;
  }
  if (settings.daemonize && !Daemonize(settings.verbose > 0)) {
    std::fprintf(stderr, "failed to daemon() in order to daemonize\n");
    return EXIT_FAILURE;
  }
  if (!settings.pid_file.empty()) WritePidFile(settings.pid_file);
  if (!settings.port_file.empty() &&
      !cachet::net::WritePortFile(settings.port_file, net->listeners(), metrics.port())) {
    return EXIT_FAILURE;
  }
  // The crawler before the metrics thread, which reads its state (after -d: no fork after).
  context.StartCrawler();
  if (settings.metrics_port != 0) metrics.Start();
  if (memory_file != nullptr) memory_file->StartOnline();  // after -d: threads do not fork
  net->Run(stop_fd, [&](uint32_t signo) {
    if (signo == SIGHUP) {
      Reload(context);
      return false;
    }
    if (signo == SIGUSR1) std::fprintf(stderr, "Gracefully stopping\n");
    return true;
  });
  ::close(stop_fd);
  // The workers finished what they were doing and stopped. An online snapshot under way is
  // cancelled (before the workers it may wake go away), and the listeners are closed so that
  // clients are refused rather than kept waiting while the cache is saved.
  if (memory_file != nullptr) memory_file->StopOnline();
  context.StopCrawler();
  net.reset();
  if (memory_file != nullptr) memory_file->Save(/*clean=*/true);  // SIGTERM, SIGINT, SIGUSR1
  if (context.verbosity() > 0) std::fprintf(stderr, "Exiting normally\n");
  // memcached removes the pid file only when it daemonized.
  if (settings.daemonize && !settings.pid_file.empty()) ::unlink(settings.pid_file.c_str());
  return 0;
}
