#include "server/memory_file.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <syslog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "server/server_context.h"
#include "storage/snapshot_file.h"

namespace cachet::server {
namespace {

using Clock = std::chrono::steady_clock;

uint64_t MillisSince(Clock::time_point t0) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count());
}

// To stderr and syslog: under -d stderr is /dev/null, yet a rejected file must be seen.
__attribute__((format(printf, 1, 2))) void Log(const char* fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  std::fprintf(stderr, "%s\n", line);
  ::syslog(LOG_WARNING, "%s", line);
}

// A stat value stays on one line.
std::string OneLine(std::string s) {
  for (char& c : s) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  return s;
}

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

}  // namespace

MemoryFile::MemoryFile(ServerContext& server, std::string path)
    : server_(server), path_(std::move(path)) {}

MemoryFile::~MemoryFile() { StopOnline(); }

void MemoryFile::Load() {
  const Clock::time_point t0 = Clock::now();
  const auto reject = [&](const std::string& reason) {
    Log("[restart] starting with an empty cache: %s", reason.c_str());
    common::MutexLock lock(mu_);
    restart_.status = "rejected:" + OneLine(reason);
  };
  // A save killed midway leaves its temporary file; the next save would reuse the name anyway.
  ::unlink((path_ + ".tmp").c_str());
  const int fd = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      Log("[restart] starting with an empty cache: no file %s yet", path_.c_str());
      return;  // status stays "clean"
    }
    reject("cannot open " + path_ + ": " + std::strerror(errno));
    return;
  }
  storage::FileSource source(fd);
  const Settings& settings = server_.settings();
  storage::LoadOptions options;
  options.unix_now = server_.time().UnixNow();
  options.item_size_max = settings.item_size_max;
  options.cas_enabled = settings.cas_enabled;
  options.restore_unclean_max_age = settings.restore_unclean;
  options.add_saved_debug_offset = settings.debugtime;
  storage::LoadResult loaded = storage::LoadSnapshot(source, StoreConfigFor(settings), options);
  if (loaded.store == nullptr) {
    char magic[sizeof(storage::kSnapshotMagic)] = {};
    if (source.size() >= sizeof(magic) && source.ReadAt(0, magic, sizeof(magic)) &&
        std::memcmp(magic, storage::kSnapshotMagic, sizeof(magic)) != 0 &&
        Exists(path_ + ".meta")) {
      // memcached -e keeps its memory in <file> and its state in <file>.meta. cachet's next
      // save replaces <file>; the .meta would then describe a file that is gone.
      common::MutexLock lock(save_mu_);
      replaced_memcached_file_ = true;
      loaded.reason =
          path_ + " is a memcached -e memory file (with " + path_ + ".meta), not a cachet snapshot";
    }
    ::close(fd);
    reject(loaded.reason);
    return;
  }
  // An exact file is exact only until the server serves from it: from now on a crash must not
  // bring it back (memcached unlinks its file for the same reason).
  std::string error;
  if (loaded.meta.clean && !loaded.meta.consumed && !storage::MarkSnapshotConsumed(fd, &error)) {
    ::close(fd);
    reject("cannot mark " + path_ + " as loaded: " + error);
    return;
  }
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);  // its pages are in the arena now
  ::close(fd);
  server_.RestoreFrom(std::move(loaded.store), loaded.meta);
  const uint64_t ms = MillisSince(t0);
  std::string extra;
  if (loaded.expired_items > 0) {
    extra += ", " + std::to_string(loaded.expired_items) + " expired while down";
  }
  if (loaded.dropped_items > 0) {
    extra += ", " + std::to_string(loaded.dropped_items) + " in " +
             std::to_string(loaded.dropped_segments) + " segments left out: -m is smaller";
  }
  if (!loaded.meta.clean || loaded.meta.consumed) extra += "; not exact (restore_unclean)";
  Log("[restart] loaded %llu items from %s in %llu ms%s",
      static_cast<unsigned long long>(loaded.loaded_items), path_.c_str(),
      static_cast<unsigned long long>(ms), extra.c_str());
  common::MutexLock lock(mu_);
  restart_.status = "loaded";
  restart_.loaded_items = loaded.loaded_items;
  restart_.expired_items = loaded.expired_items;
  restart_.load_ms = ms;
}

bool MemoryFile::Save(bool clean) {
  common::MutexLock lock(save_mu_);
  return SaveLocked(clean);
}

bool MemoryFile::SaveLocked(bool clean) {
  const Clock::time_point t0 = Clock::now();
  const storage::SaveResult r =
      storage::SaveSnapshot(server_.store(), server_.SnapshotMetaNow(clean), server_.time().Now(),
                            path_, clean ? nullptr : &cancel_,
                            clean ? storage::ExportMode::kFinal : storage::ExportMode::kServing);
  const uint64_t ms = MillisSince(t0);
  if (r.ok && replaced_memcached_file_) {
    ::unlink((path_ + ".meta").c_str());
    replaced_memcached_file_ = false;
    Log("[restart] removed %s.meta: it described the memcached file just replaced", path_.c_str());
  }
  const char* what = clean ? "[restart] saved" : "[snapshot] wrote";
  if (r.ok) {
    if (clean || server_.verbosity() > 0) {
      Log("%s %llu items (%llu bytes) to %s in %llu ms", what,
          static_cast<unsigned long long>(r.items), static_cast<unsigned long long>(r.file_bytes),
          path_.c_str(), static_cast<unsigned long long>(ms));
    }
  } else {
    Log("%s nothing: %s; %s is left as it was", clean ? "[restart] saved" : "[snapshot] wrote",
        r.error.c_str(), path_.c_str());
  }
  common::MutexLock lock(mu_);
  snapshot_.last_status = r.ok ? "ok" : "failed:" + OneLine(r.error);
  snapshot_.last_ms = ms;
  snapshot_.last_bytes = r.ok ? r.file_bytes : 0;
  if (!r.ok) ++snapshot_.failures;
  return r.ok;
}

void MemoryFile::StartOnline() {
  {
    common::MutexLock lock(mu_);
    stopping_ = false;
  }
  cancel_.store(false);
  thread_ = std::thread([this] { Run(); });
}

void MemoryFile::StopOnline() {
  {
    common::MutexLock lock(mu_);
    stopping_ = true;
  }
  cancel_.store(true);
  cv_.NotifyAll();
  if (thread_.joinable()) thread_.join();
  cancel_.store(false);
}

uint64_t MemoryFile::Request(Waker* waker) {
  uint64_t ticket;
  {
    common::MutexLock lock(mu_);
    ticket = ++requested_;
    if (waker != nullptr && std::find(waiting_.begin(), waiting_.end(), waker) == waiting_.end()) {
      waiting_.push_back(waker);
    }
  }
  cv_.NotifyAll();
  return ticket;
}

std::optional<bool> MemoryFile::Result(uint64_t ticket) const {
  common::MutexLock lock(mu_);
  if (completed_ < ticket) return std::nullopt;
  const auto it = results_.lower_bound(ticket);
  return it != results_.end() && it->second;
}

void MemoryFile::Run() {
  // Below the workers (nice 19): a snapshot is background work, and at their priority it took
  // the spare core of a half-loaded 2-core server, whose p99 rose 2-90x. It holds a shard or
  // the eviction lock only for moments (2048 index slots, one segment's copy), and a worker
  // blocked on one lets it run again. make bench's restart step, 3 pairs of windows each: the
  // slowest request during a snapshot 5.2-32.7 ms at nice 19, 11.4-91.8 ms at nice 0; the
  // snapshot itself took 1.8-4.1 s instead of 1.3-3.2 s.
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 19);
  const int interval = server_.settings().snapshot_interval;
  Clock::time_point next = Clock::now() + std::chrono::seconds(interval);
  mu_.Lock();
  while (!stopping_) {
    const bool due = interval > 0 && Clock::now() >= next;
    if (requested_ == completed_ && !due) {
      if (interval > 0) {
        cv_.WaitUntil(mu_, next);
      } else {
        cv_.Wait(mu_);
      }
      continue;
    }
    const uint64_t covers = requested_;  // requests made before it starts
    mu_.Unlock();
    bool ok;
    {
      common::MutexLock save_lock(save_mu_);
      ok = SaveLocked(false);
    }
    mu_.Lock();
    next = Clock::now() + std::chrono::seconds(interval);
    completed_ = covers;
    results_[covers] = ok;
    while (results_.size() > 64) results_.erase(results_.begin());
    std::vector<Waker*> wake;
    wake.swap(waiting_);
    mu_.Unlock();
    for (Waker* w : wake) w->Wake();
    mu_.Lock();
  }
  mu_.Unlock();
}

RestartStats MemoryFile::restart_stats() const {
  common::MutexLock lock(mu_);
  return restart_;
}

SnapshotStats MemoryFile::snapshot_stats() const {
  common::MutexLock lock(mu_);
  return snapshot_;
}

}  // namespace cachet::server
