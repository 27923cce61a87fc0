// Reading a snapshot into a new store. Nothing in the file is trusted: every length is checked
// before it is used and every item is decoded with DecodeItemChecked, so a damaged or hostile
// file is rejected (the store being built is dropped) and never crashes the server. It reads in
// one pass in file order, each chunk's item bytes straight into the segment they came from, and
// rebuilds the index with several threads, each owning a set of shards (so a key that comes
// twice keeps its later copy whichever thread meets it).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <deque>
#include <optional>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "storage/crc32c.h"
#include "storage/snapshot_file.h"
#include "storage/snapshot_layout.h"

namespace cachet::storage {

using namespace snapshot_layout;

FileSource::FileSource(int fd) : fd_(fd) {
  const off_t end = ::lseek(fd, 0, SEEK_END);
  size_ = end > 0 ? static_cast<uint64_t>(end) : 0;
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
}

bool FileSource::ReadAt(uint64_t offset, void* dst, size_t n) {
  auto* p = static_cast<uint8_t*>(dst);
  while (n > 0) {
    const ssize_t r = ::pread(fd_, p, n, static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
    offset += static_cast<uint64_t>(r);
  }
  return true;
}

bool MemorySource::ReadAt(uint64_t offset, void* dst, size_t n) {
  if (offset > size_ || n > size_ - offset) return false;
  std::memcpy(dst, data_ + offset, n);
  return true;
}

namespace {

// Later epochs after an inexact load: the server went on writing after the file was saved, so
// its epochs went past the file's high-water mark. A segment is handed out at most about once
// per MiB written; 2^16 per second of age is far above any write rate, so CASes stay greater
// than any issued before the restart.
constexpr uint64_t kEpochsPerSecond = uint64_t{1} << 16;

// One restored segment's items, for the index threads.
struct IndexJob {
  uint32_t segment = 0;
  std::vector<uint32_t> offsets;
  std::vector<uint8_t> states;
  std::atomic<int> pending{0};  // threads yet to index their share; the last frees the lists
};

// Rebuilds the index from restored segments: thread t restores the items of the shards with
// shard % threads == t, segment after segment in file order. The loading thread is thread 0 and
// indexes its share of each segment as it hands it over; the others follow behind it.
class IndexBuilder {
 public:
  IndexBuilder(Store& store, int threads, uint32_t now)
      : store_(store), now_(now), threads_(std::max(1, threads)) {
    counts_.resize(static_cast<size_t>(threads_));
    {
      common::MutexLock lock(mu_);
      done_jobs_.assign(static_cast<size_t>(threads_), 0);
    }
    for (int t = 1; t < threads_; ++t) workers_.emplace_back([this, t] { Run(t); });
  }
  ~IndexBuilder() { Finish(); }

  void Add(uint32_t segment, std::vector<uint32_t>&& offsets, std::vector<uint8_t>&& states) {
    IndexJob* job;
    {
      common::MutexLock lock(mu_);
      // A bounded lead, so that the lists waiting to be indexed stay small.
      while (FarAheadLocked()) progress_cv_.Wait(mu_);
      job = &jobs_.emplace_back();
      job->segment = segment;
      job->offsets = std::move(offsets);
      job->states = std::move(states);
      job->pending.store(threads_, std::memory_order_relaxed);
    }
    cv_.NotifyAll();
    Index(*job, 0);
  }
  // Waits for the other threads; safe to call more than once.
  void Finish() {
    {
      common::MutexLock lock(mu_);
      done_ = true;
    }
    cv_.NotifyAll();
    for (std::thread& w : workers_) w.join();
    workers_.clear();
  }
  using Counts = Store::RestoreCounts;
  Counts Totals() const {
    Counts c;
    for (const Counts& t : counts_) {
      c.added += t.added;
      c.replaced += t.replaced;
      c.expired += t.expired;
    }
    return c;
  }

 private:
  static constexpr size_t kMaxLead = 8;

  bool FarAheadLocked() const CACHET_REQUIRES(mu_) {
    for (int t = 1; t < threads_; ++t) {
      if (jobs_.size() - done_jobs_[static_cast<size_t>(t)] >= kMaxLead) return true;
    }
    return false;
  }

  void Run(int t) {
    for (size_t next = 0;; ++next) {
      IndexJob* job;
      {
        common::MutexLock lock(mu_);
        while (next >= jobs_.size() && !done_) cv_.Wait(mu_);
        if (next >= jobs_.size()) return;
        job = &jobs_[next];
      }
      Index(*job, t);
      {
        common::MutexLock lock(mu_);
        done_jobs_[static_cast<size_t>(t)] = next + 1;
      }
      progress_cv_.NotifyAll();
    }
  }

  void Index(IndexJob& job, int t) {
    Store::RestoreCounts c;  // on the stack: the threads' counters never share a cache line
    store_.RestoreItems(job.segment, job.offsets.data(), job.states.data(), job.offsets.size(),
                        now_, static_cast<size_t>(t), static_cast<size_t>(threads_), &c);
    Store::RestoreCounts& total = counts_[static_cast<size_t>(t)];
    total.added += c.added;
    total.replaced += c.replaced;
    total.expired += c.expired;
    if (job.pending.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::vector<uint32_t>().swap(job.offsets);
      std::vector<uint8_t>().swap(job.states);
    }
  }

  Store& store_;
  const uint32_t now_;
  const int threads_;
  common::Mutex mu_;
  common::CondVar cv_;           // a job was added, or done_
  common::CondVar progress_cv_;  // the other threads moved on
  // A deque: references to its jobs stay valid as it grows (the threads index them unlocked;
  // a job does not change once added, but for `pending`).
  std::deque<IndexJob> jobs_ CACHET_GUARDED_BY(mu_);
  std::vector<size_t> done_jobs_ CACHET_GUARDED_BY(mu_);  // jobs each thread finished
  bool done_ CACHET_GUARDED_BY(mu_) = false;
  std::vector<Counts> counts_;  // one per thread, each written by its thread only
  std::vector<std::thread> workers_;
};

std::string Num(uint64_t v) { return std::to_string(v); }

}  // namespace

LoadResult LoadSnapshot(ByteSource& source, const StoreConfig& config, const LoadOptions& options) {
  LoadResult result;
  IndexBuilder* indexing = nullptr;  // stopped before a rejected store is dropped
  const auto reject = [&](std::string why) {
    if (indexing != nullptr) indexing->Finish();
    result.store.reset();
    result.reason = std::move(why);
    result.loaded_items = 0;
    return std::move(result);
  };
  const bool verify = options.verify_checksums;
  const uint64_t size = source.size();
  if (size == 0) return reject("empty file");
  if (size < kHeaderBytes) return reject("truncated in the header (" + Num(size) + " bytes)");
  uint8_t header_bytes[kHeaderBytes];
  if (!source.ReadAt(0, header_bytes, kHeaderBytes)) return reject("read error");
  FileHeader h;
  if (std::string why = DecodeFileHeader(header_bytes, verify, &h); !why.empty()) {
    return reject(why);
  }
  if (h.file_bytes != size) {
    return reject(size < h.file_bytes
                      ? "truncated (" + Num(size) + " of " + Num(h.file_bytes) + " bytes)"
                      : "longer than written (" + Num(size) + " bytes, " + Num(h.file_bytes) +
                            " written)");
  }
  if (h.segment_size != config.segment_size) {
    return reject("segment size changed (-I; file " + Num(h.segment_size) + ", now " +
                  Num(config.segment_size) + ")");
  }
  if (h.item_size_max != options.item_size_max) {
    return reject("-I changed (file " + Num(h.item_size_max) + ", now " +
                  Num(options.item_size_max) + ")");
  }
  if ((h.cas_enabled != 0) != options.cas_enabled) {
    return reject(std::string("-C changed (CAS ") + (h.cas_enabled ? "on" : "off") +
                  " in the file)");
  }
  if (h.shard_count != (size_t{1} << config.shard_bits)) return reject("index layout changed");
  // Times from the file are checked before any arithmetic on them (no overflow from a bad one).
  if (h.time_base < 0 || h.time_base > h.save_time || h.debug_offset < -(int64_t{1} << 40) ||
      h.debug_offset > (int64_t{1} << 40)) {
    return reject("bad times in the header");
  }
  const int64_t unix_now = options.unix_now + (options.add_saved_debug_offset ? h.debug_offset : 0);
  if (h.save_time > unix_now) {
    return reject("the clock moved back past the save time (by " +
                  Num(static_cast<uint64_t>(h.save_time - unix_now)) + " s)");
  }
  const int64_t server_now = unix_now - h.time_base;
  if (server_now >= (int64_t{1} << 31)) return reject("bad times in the header");
  const uint64_t age = static_cast<uint64_t>(unix_now - h.save_time);
  const bool exact = (h.flags & kFlagClean) != 0 && (h.flags & kFlagConsumed) == 0;
  if (!exact) {
    const std::string what = (h.flags & kFlagClean) != 0
                                 ? "loaded once already and not saved since (an unclean stop)"
                                 : "an online snapshot, not a clean stop's";
    if (options.restore_unclean_max_age < 0) {
      return reject(what + "; -o restore_unclean=<max_age_s> would load it");
    }
    if (age > static_cast<uint64_t>(options.restore_unclean_max_age)) {
      return reject(what + ", " + Num(age) + " s old (restore_unclean=" +
                    Num(static_cast<uint64_t>(options.restore_unclean_max_age)) + ")");
    }
  }
  const int shift = std::countr_zero(config.segment_size);
  if (h.next_epoch == 0 || h.next_epoch > (uint64_t{1} << (62 - shift))) {
    return reject("bad CAS high-water mark");
  }

  // The directory: where each chunk is, so the plan (what fits) comes before reading.
  if (h.directory_offset < kHeaderBytes || h.directory_offset > size ||
      h.directory_bytes != size - h.directory_offset ||
      h.directory_bytes != DirectoryBytes(h.segments, h.shard_count)) {
    return reject("bad directory position");
  }
  std::vector<uint8_t> dir_bytes(h.directory_bytes);
  if (!source.ReadAt(h.directory_offset, dir_bytes.data(), dir_bytes.size())) {
    return reject("read error");
  }
  std::vector<DirectoryEntry> entries;
  std::vector<uint32_t> shard_items;
  if (std::string why =
          DecodeDirectory(dir_bytes.data(), dir_bytes.size(), verify, &entries, &shard_items);
      !why.empty()) {
    return reject(why);
  }
  // A chunk holds at most a segment of items, their run table (at most 20 bytes per item, an
  // item being at least 3 bytes) and their states.
  const uint64_t max_chunk = kChunkHeaderBytes + config.segment_size * 8;
  uint64_t expect = kHeaderBytes;
  uint64_t items = 0;
  uint32_t main_count = 0;
  for (const DirectoryEntry& e : entries) {
    if (e.offset != expect || e.chunk_bytes < kChunkHeaderBytes || e.chunk_bytes > max_chunk ||
        e.items == 0) {
      return reject("bad directory entry");
    }
    expect += e.chunk_bytes;
    items += e.items;
    if (e.queue == static_cast<uint8_t>(SegmentPool::Queue::kMain)) ++main_count;
  }
  uint64_t shard_total = 0;
  for (const uint32_t n : shard_items) shard_total += n;
  if (expect != h.directory_offset || items != h.items || shard_total != h.items ||
      main_count != h.main_segments) {
    return reject("directory does not match the header");
  }

  result.store = std::make_unique<Store>(config);
  Store& store = *result.store;
  // The plan: main's newest segments first, then probation's newest, as many as fit beside an
  // index for their items (a smaller -m keeps what eviction would have kept longest).
  std::vector<size_t> order;
  for (const uint8_t queue : {uint8_t{1}, uint8_t{0}}) {
    for (size_t i = entries.size(); i-- > 0;) {
      if (entries[i].queue == queue) order.push_back(i);
    }
  }
  size_t keep = order.size();
  while (true) {
    uint64_t planned = 0;
    for (size_t k = 0; k < keep; ++k) planned += entries[order[k]].items;
    const size_t fit = store.SegmentsFitting(planned);
    if (keep <= fit) break;
    keep = fit;
  }
  std::vector<bool> chosen(entries.size(), false);
  uint64_t planned = 0;
  for (size_t k = 0; k < keep; ++k) {
    chosen[order[k]] = true;
    planned += entries[order[k]].items;
  }
  for (size_t s = 0; s < shard_items.size(); ++s) {
    const uint64_t share =
        h.items == 0 ? 0 : (uint64_t{shard_items[s]} * planned + h.items - 1) / h.items;
    store.ReserveIndex(s, static_cast<size_t>(share));
  }

  IndexBuilder index(store, options.index_threads, static_cast<uint32_t>(server_now));
  indexing = &index;
  std::vector<uint8_t> runs;
  std::vector<uint8_t> states;
  std::vector<uint8_t> scratch;
  std::vector<std::pair<uint32_t, uint32_t>> layout;  // (offset, length) of each run
  for (size_t i = 0; i < entries.size(); ++i) {
    const DirectoryEntry& e = entries[i];
    const std::string where = "chunk " + Num(i);
    uint8_t chunk_header[kChunkHeaderBytes];
    if (!source.ReadAt(e.offset, chunk_header, kChunkHeaderBytes)) return reject("read error");
    ChunkHeader c;
    if (std::string why = DecodeChunkHeader(chunk_header, verify, &c); !why.empty()) {
      return reject(why + " (" + where + ")");
    }
    if (c.index != i || c.queue != e.queue || c.items != e.items ||
        kChunkHeaderBytes + c.payload_bytes() != e.chunk_bytes || c.used > config.segment_size ||
        c.data_bytes > c.used || c.runs == 0 || c.runs > c.items || c.epoch == 0 ||
        c.epoch >= h.next_epoch ||
        c.state_bytes != ((c.flags & kChunkHasStates) ? (uint64_t{c.items} + 1) / 2 : 0)) {
      return reject("chunk header does not match the directory (" + where + ")");
    }
    const uint64_t payload_at = e.offset + kChunkHeaderBytes;
    std::optional<uint32_t> seg;
    if (chosen[i]) seg = store.TakeRestoredSegment(c.epoch, c.times);
    if (!seg) {
      // Not loaded (a smaller -m), but verified all the same: the file is accepted whole or not.
      if (verify) {
        uint32_t crc = 0;
        scratch.resize(std::min<uint64_t>(c.payload_bytes(), uint64_t{1} << 20));
        for (uint64_t done = 0; done < c.payload_bytes();) {
          const size_t n =
              static_cast<size_t>(std::min<uint64_t>(scratch.size(), c.payload_bytes() - done));
          if (!source.ReadAt(payload_at + done, scratch.data(), n)) return reject("read error");
          crc = Crc32c(scratch.data(), n, crc);
          done += n;
        }
        if (crc != c.payload_crc) return reject("chunk checksum mismatch (" + where + ")");
      }
      result.dropped_items += c.items;
      ++result.dropped_segments;
      continue;
    }
    uint8_t* mem = store.SegmentBytes(*seg);
    runs.resize(c.runs_bytes);
    states.resize(c.state_bytes);
    if (!source.ReadAt(payload_at, runs.data(), runs.size()) ||
        !source.ReadAt(payload_at + c.runs_bytes, mem, c.data_bytes) ||
        !source.ReadAt(payload_at + c.runs_bytes + c.data_bytes, states.data(), states.size())) {
      return reject("read error");
    }
    if (verify) {
      uint32_t crc = Crc32c(runs.data(), runs.size());
      crc = Crc32c(mem, c.data_bytes, crc);
      crc = Crc32c(states.data(), states.size(), crc);
      if (crc != c.payload_crc) return reject("chunk checksum mismatch (" + where + ")");
    }
    // Where each run lay in the segment; they must tile [0, used) in order with gaps between.
    layout.clear();
    const uint8_t* p = runs.data();
    const uint8_t* const end = runs.data() + runs.size();
    uint64_t pos = 0;
    uint64_t packed = 0;
    for (uint32_t r = 0; r < c.runs; ++r) {
      uint64_t gap = 0;
      uint64_t len = 0;
      p = p == nullptr ? nullptr : GetVarint(p, end, &gap);
      p = p == nullptr ? nullptr : GetVarint(p, end, &len);
      if (p == nullptr || len < 3 || (r > 0 && gap == 0) || pos + gap + len > c.used) {
        return reject("bad run table (" + where + ")");
      }
      layout.emplace_back(static_cast<uint32_t>(pos + gap), static_cast<uint32_t>(len));
      pos += gap + len;
      packed += len;
    }
    if (p != end || pos != c.used || packed != c.data_bytes) {
      return reject("bad run table (" + where + ")");
    }
    // The bytes were read packed to the front: move each run to where it lay, last first (a
    // run only moves right, past what is still to move), and fill the gaps with pad bytes.
    uint64_t from = c.data_bytes;
    for (size_t r = layout.size(); r-- > 0;) {
      const auto [off, len] = layout[r];
      from -= len;
      if (off != from) std::memmove(mem + off, mem + from, len);
      const uint32_t gap_start = r == 0 ? 0 : layout[r - 1].first + layout[r - 1].second;
      std::memset(mem + gap_start, kPadByte, off - gap_start);
    }
    std::vector<uint32_t> offsets;
    std::vector<uint8_t> item_states;
    offsets.reserve(c.items);
    item_states.reserve(c.items);
    for (const auto& [off, len] : layout) {
      for (uint32_t at = off; at < off + len;) {
        ItemRef item;
        if (offsets.size() == c.items || !DecodeItemChecked(mem + at, off + len - at, &item) ||
            (item.stored_cas != 0 && (item.stored_cas >> shift) >= h.next_epoch)) {
          return reject("bad item (" + where + ", offset " + Num(at) + ")");
        }
        const size_t n = offsets.size();
        offsets.push_back(at);
        item_states.push_back(states.empty() ? 0 : (states[n / 2] >> (4 * (n % 2))) & 0x0f);
        at += item.total_size();
      }
    }
    if (offsets.size() != c.items) return reject("item count mismatch (" + where + ")");
    store.SealRestoredSegment(*seg, c.used, static_cast<SegmentPool::Queue>(c.queue));
    ++result.loaded_segments;
    index.Add(*seg, std::move(offsets), std::move(item_states));
  }
  index.Finish();
  const IndexBuilder::Counts counts = index.Totals();
  result.loaded_items = counts.added;
  result.expired_items = counts.expired;
  store.FinishRestore(exact ? h.next_epoch
                            : h.next_epoch + std::min<uint64_t>(age + 1, uint64_t{1} << 20) *
                                                 kEpochsPerSecond);
  SnapshotMeta& m = result.meta;
  m.clean = (h.flags & kFlagClean) != 0;
  m.consumed = (h.flags & kFlagConsumed) != 0;
  m.save_time = h.save_time;
  m.time_base = h.time_base;
  m.debug_offset = h.debug_offset;
  m.flush_at = h.flush_at;
  m.oldest_live = h.oldest_live;
  m.memory_limit = h.memory_limit;
  m.item_size_max = h.item_size_max;
  m.cas_enabled = h.cas_enabled != 0;
  m.next_epoch = h.next_epoch;
  m.items = h.items;
  m.item_bytes = h.item_bytes;
  m.segments = h.segments;
  m.main_segments = h.main_segments;
  return result;
}

}  // namespace cachet::storage
