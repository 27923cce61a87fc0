// Writing a snapshot: the store exports segment by segment into a ChunkWriter, which turns each
// into a chunk (its live items packed, with a table of where they lay) and writes it out while
// the store is already walking the next. Only one segment's bytes are buffered at a time, so a
// save while serving costs about one segment of memory. The save at a clean stop, when nothing
// else runs, buffers nothing: the chunk is written from the segment's own bytes.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <vector>

#include "storage/crc32c.h"
#include "storage/snapshot_file.h"
#include "storage/snapshot_layout.h"

namespace cachet::storage {
namespace {

using namespace snapshot_layout;

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

// Writes all of the iovecs (advancing them on a short write), IOV_MAX at a time.
bool WriteAll(int fd, iovec* iov, size_t n) {
  while (n > 0) {
    const ssize_t w = ::writev(fd, iov, static_cast<int>(std::min<size_t>(n, IOV_MAX)));
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    size_t left = static_cast<size_t>(w);
    while (n > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      ++iov;
      --n;
    }
    if (n > 0) {
      iov->iov_base = static_cast<uint8_t*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
  return true;
}

class ChunkWriter final : public SegmentSink {
 public:
  // `in_place`: items' bytes stay valid until the export ends (not ExportMode::kServing), so
  // they are written from where they lie instead of being copied first.
  ChunkWriter(int fd, size_t segment_size, size_t shards, const std::atomic<bool>* cancel,
              bool in_place)
      : fd_(fd),
        data_(in_place ? nullptr : new uint8_t[segment_size]),
        shard_items_(shards, 0),
        cancel_(cancel) {}

  void BeginSegment(const ExportedSegment& segment) override {
    segment_ = segment;
    runs_.clear();
    states_.clear();
    pieces_.clear();
    data_bytes_ = 0;
    items_ = 0;
    end_ = 0;
    any_state_ = false;
  }

  void AddItem(const ExportedItem& item) override {
    if (!runs_.empty() && item.offset == end_) {
      runs_.back().second += item.size;
    } else {
      runs_.emplace_back(item.offset - end_, item.size);
    }
    end_ = item.offset + item.size;
    if (data_ != nullptr) {
      std::memcpy(data_.get() + data_bytes_, item.bytes, item.size);
    } else if (!pieces_.empty() &&
               static_cast<const uint8_t*>(pieces_.back().iov_base) + pieces_.back().iov_len ==
                   item.bytes) {
      pieces_.back().iov_len += item.size;
    } else {
      pieces_.push_back({const_cast<uint8_t*>(item.bytes), item.size});
    }
    data_bytes_ += item.size;
    if (items_ % 2 == 0) {
      states_.push_back(item.state);
    } else {
      states_.back() |= static_cast<uint8_t>(item.state << 4);
    }
    any_state_ = any_state_ || item.state != 0;
    ++items_;
    ++shard_items_[item.shard];
  }

  bool EndSegment() override {
    if (cancel_ != nullptr && cancel_->load(std::memory_order_relaxed)) {
      error_ = "cancelled";
      return false;
    }
    if (items_ == 0) return true;  // nothing live: the segment needs no chunk
    run_table_.clear();
    for (const auto& [gap, len] : runs_) {
      PutVarint(&run_table_, gap);
      PutVarint(&run_table_, len);
    }
    ChunkHeader h;
    h.index = static_cast<uint32_t>(entries_.size());
    h.queue = static_cast<uint8_t>(segment_.queue);
    h.flags = any_state_ ? kChunkHasStates : 0;
    h.used = end_;
    h.epoch = segment_.epoch;
    h.items = items_;
    h.runs = static_cast<uint32_t>(runs_.size());
    h.runs_bytes = static_cast<uint32_t>(run_table_.size());
    h.data_bytes = data_bytes_;
    h.state_bytes = any_state_ ? static_cast<uint32_t>(states_.size()) : 0;
    h.times = segment_.times;
    if (data_ != nullptr) pieces_.assign(1, {data_.get(), data_bytes_});
    uint32_t crc = Crc32c(run_table_.data(), run_table_.size());
    for (const iovec& piece : pieces_) {
      crc = Crc32c(static_cast<const uint8_t*>(piece.iov_base), piece.iov_len, crc);
    }
    crc = Crc32c(states_.data(), h.state_bytes, crc);
    h.payload_crc = crc;
    uint8_t header[kChunkHeaderBytes];
    EncodeChunkHeader(h, header);
    pieces_.insert(pieces_.begin(),
                   {{header, sizeof(header)}, {run_table_.data(), run_table_.size()}});
    pieces_.push_back({states_.data(), h.state_bytes});
    if (!WriteAll(fd_, pieces_.data(), pieces_.size())) {
      error_ = Errno("write");
      return false;
    }
    const uint64_t chunk_bytes = kChunkHeaderBytes + h.payload_bytes();
    entries_.push_back({offset_, static_cast<uint32_t>(chunk_bytes), items_, h.queue});
    offset_ += chunk_bytes;
    items_total_ += items_;
    item_bytes_ += data_bytes_;
    if (segment_.queue == SegmentPool::Queue::kMain) ++main_segments_;
    // Start writing back as we go, so the final fsync has little left and dirty pages do not
    // pile up (asynchronous; a no-op on tmpfs).
    if (offset_ - synced_ >= kWritebackStep) {
      ::sync_file_range(fd_, static_cast<off_t>(synced_), static_cast<off_t>(offset_ - synced_),
                        SYNC_FILE_RANGE_WRITE);
      synced_ = offset_;
    }
    return true;
  }

  const std::string& error() const { return error_; }
  uint64_t offset() const { return offset_; }
  const std::vector<DirectoryEntry>& entries() const { return entries_; }
  const std::vector<uint32_t>& shard_items() const { return shard_items_; }
  uint64_t items() const { return items_total_; }
  uint64_t item_bytes() const { return item_bytes_; }
  uint32_t main_segments() const { return main_segments_; }

 private:
  static constexpr uint64_t kWritebackStep = uint64_t{32} << 20;

  const int fd_;
  std::unique_ptr<uint8_t[]> data_;  // one segment's live bytes, packed (null: in place)
  std::vector<iovec> pieces_;        // what a chunk is written from
  std::vector<std::pair<uint32_t, uint32_t>> runs_;
  std::vector<uint8_t> run_table_;
  std::vector<uint8_t> states_;  // two items' state bits per byte, low nibble first
  std::vector<DirectoryEntry> entries_;
  std::vector<uint32_t> shard_items_;
  const std::atomic<bool>* cancel_;
  ExportedSegment segment_{};
  uint32_t data_bytes_ = 0;
  uint32_t items_ = 0;
  uint32_t end_ = 0;
  bool any_state_ = false;
  uint64_t offset_ = kHeaderBytes;
  uint64_t synced_ = 0;
  uint64_t items_total_ = 0;
  uint64_t item_bytes_ = 0;
  uint32_t main_segments_ = 0;
  std::string error_;
};

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

SaveResult SaveSnapshot(Store& store, const SnapshotMeta& meta, uint32_t now,
                        const std::string& path, const std::atomic<bool>* cancel, ExportMode mode) {
  SaveResult result;
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    result.error = Errno("open " + tmp);
    return result;
  }
  const auto fail = [&](std::string error) {
    ::close(fd);
    ::unlink(tmp.c_str());
    result.error = std::move(error);
    return result;
  };
  if (::fchmod(fd, 0600) != 0) return fail(Errno("chmod " + tmp));
  // The header goes in last: until then the file starts with zeros, which no loader accepts.
  uint8_t header[kHeaderBytes] = {};
  iovec hv = {header, sizeof(header)};
  if (!WriteAll(fd, &hv, 1)) return fail(Errno("write " + tmp));

  ChunkWriter chunks(fd, store.segment_size(), store.shard_count(), cancel,
                     /*in_place=*/mode != ExportMode::kServing);
  uint64_t next_epoch = 0;
  if (!store.Export(chunks, now, &next_epoch, mode)) {
    return fail(chunks.error() == "cancelled" ? "cancelled" : chunks.error() + " " + tmp);
  }
  std::vector<uint8_t> directory;
  EncodeDirectory(chunks.entries(), chunks.shard_items(), &directory);
  iovec dv = {directory.data(), directory.size()};
  if (!WriteAll(fd, &dv, 1)) return fail(Errno("write " + tmp));

  FileHeader h;
  h.flags = meta.clean ? kFlagClean : 0;
  h.shard_count = static_cast<uint32_t>(store.shard_count());
  h.cas_enabled = meta.cas_enabled ? 1 : 0;
  h.segment_size = store.segment_size();
  h.item_size_max = meta.item_size_max;
  h.save_time = meta.save_time;
  h.time_base = meta.time_base;
  h.debug_offset = meta.debug_offset;
  h.next_epoch = next_epoch;
  h.flush_at = meta.flush_at;
  h.oldest_live = meta.oldest_live;
  h.items = chunks.items();
  h.item_bytes = chunks.item_bytes();
  h.segments = static_cast<uint32_t>(chunks.entries().size());
  h.main_segments = chunks.main_segments();
  h.directory_offset = chunks.offset();
  h.directory_bytes = directory.size();
  h.file_bytes = chunks.offset() + directory.size();
  h.memory_limit = meta.memory_limit;
  EncodeFileHeader(h, header);
  if (::pwrite(fd, header, sizeof(header), 0) != static_cast<ssize_t>(sizeof(header))) {
    return fail(Errno("write " + tmp));
  }
  if (::fsync(fd) != 0) return fail(Errno("fsync " + tmp));
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    result.error = Errno("close " + tmp);
    return result;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    result.error = Errno("rename " + tmp);
    ::unlink(tmp.c_str());
    return result;
  }
  // The rename itself must reach the disk, or a power cut could bring back the old file.
  const int dir = ::open(DirectoryOf(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  result.ok = true;
  result.file_bytes = h.file_bytes;
  result.items = h.items;
  result.segments = h.segments;
  return result;
}

bool MarkSnapshotConsumed(int fd, std::string* error) {
  uint8_t header[kHeaderBytes];
  if (::pread(fd, header, sizeof(header), 0) != static_cast<ssize_t>(sizeof(header))) {
    *error = Errno("read");
    return false;
  }
  FileHeader h;
  if (std::string why = DecodeFileHeader(header, true, &h); !why.empty()) {
    *error = why;
    return false;
  }
  h.flags |= kFlagConsumed;
  EncodeFileHeader(h, header);
  if (::pwrite(fd, header, sizeof(header), 0) != static_cast<ssize_t>(sizeof(header)) ||
      ::fsync(fd) != 0) {
    *error = Errno("write");
    return false;
  }
  return true;
}

}  // namespace cachet::storage
