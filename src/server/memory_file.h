#pragma once
// -e <file>: the cache survives restarts. At start the file is loaded if it is valid (the whole
// file verified before anything is served) and then marked as loaded, so that a crash later
// never brings back this older state; at every graceful stop the cache is saved there again
// (app/ decides when). Online snapshots (`snapshot`, -o snapshot_interval) run on a thread of
// their own while clients are served; they are not exact, so after an unclean stop they load
// only with -o restore_unclean. The file format is storage/snapshot_file.h's.
//
// Threading: Load() before the workers start; Save() and the snapshot thread are serialised by
// save_mu_; the stats and the request counters are guarded by mu_.
#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "server/waker.h"

namespace cachet::server {

class ServerContext;

struct RestartStats {
  std::string status = "clean";  // clean (no file) | loaded | rejected:<reason>
  uint64_t loaded_items = 0;
  uint64_t expired_items = 0;
  uint64_t load_ms = 0;
};

struct SnapshotStats {
  std::string last_status = "none";  // none | ok | failed:<error>
  uint64_t last_ms = 0;
  uint64_t last_bytes = 0;
  uint64_t failures = 0;
};

class MemoryFile {
 public:
  MemoryFile(ServerContext& server, std::string path);
  ~MemoryFile();
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;

  // At start, before the workers exist: loads the file into the server if it is valid, logs
  // why not otherwise ("[restart] starting with an empty cache: <reason>").
  void Load() CACHET_EXCLUDES(mu_, save_mu_);
  // Saves the cache now; `clean` at a graceful stop, once nothing is served any more (the file
  // is then an exact copy), as the store's last use: its memory goes back to the kernel as it
  // is written, and nothing may read the store after. Logs the outcome; true when written.
  bool Save(bool clean) CACHET_EXCLUDES(mu_, save_mu_);

  // The online snapshot thread (for -o snapshot_interval and `snapshot`).
  void StartOnline();
  // Stops it, cancelling a snapshot under way (before the final save).
  void StopOnline();
  // `snapshot`: asks for an online snapshot taken after this call; `waker` is woken when it
  // is done. Returns the ticket to ask Result() about.
  uint64_t Request(Waker* waker);
  // nullopt while the ticket's snapshot is pending; then whether it was written.
  std::optional<bool> Result(uint64_t ticket) const;

  const std::string& path() const { return path_; }
  RestartStats restart_stats() const;
  SnapshotStats snapshot_stats() const;

 private:
  void Run() CACHET_EXCLUDES(mu_, save_mu_);
  bool SaveLocked(bool clean) CACHET_REQUIRES(save_mu_) CACHET_EXCLUDES(mu_);

  ServerContext& server_;
  const std::string path_;
  // Saves write <path>.tmp: one at a time. Taken before mu_ when both are held.
  common::Mutex save_mu_;
  // The .meta of a memcached file beside path_: stale once a save replaced that file.
  bool replaced_memcached_file_ CACHET_GUARDED_BY(save_mu_) = false;

  mutable common::Mutex mu_;
  common::CondVar cv_;
  RestartStats restart_ CACHET_GUARDED_BY(mu_);
  SnapshotStats snapshot_ CACHET_GUARDED_BY(mu_);
  uint64_t requested_ CACHET_GUARDED_BY(mu_) = 0;  // tickets handed out
  uint64_t completed_ CACHET_GUARDED_BY(mu_) = 0;  // every ticket up to it is done
  // The last few results, by the last ticket each covered.
  std::map<uint64_t, bool> results_ CACHET_GUARDED_BY(mu_);
  std::vector<Waker*> waiting_ CACHET_GUARDED_BY(mu_);
  bool stopping_ CACHET_GUARDED_BY(mu_) = false;
  std::atomic<bool> cancel_{false};
  std::thread thread_;
};

}  // namespace cachet::server
