#pragma once
// Large buffer blocks kept for reuse within one thread (a worker's connection buffers). glibc
// gives blocks of 128 KiB and more back to the kernel when they are freed (main.cc pins that
// threshold, so that idle connections do not keep megabytes), so a buffer that grows for each
// large request and shrinks after it would touch fresh pages every time: a page fault and a
// zeroed page per 4 KiB, which made a 1 MB get cost 4x memcached's CPU. What is kept is bounded
// by `max_bytes`. Not thread-safe: one pool per worker.
#include <cstddef>
#include <memory>
#include <vector>

namespace cachet::common {

class BufferPool {
 public:
  // Smaller blocks come from malloc's heap, which reuses them anyway.
  static constexpr size_t kMinBlock = 64 * 1024;

  explicit BufferPool(size_t max_bytes) : max_bytes_(max_bytes) {}
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // A block of `capacity` bytes: a kept one of that size if there is one.
  std::unique_ptr<char[]> Take(size_t capacity) {
    if (capacity >= kMinBlock) {
      for (size_t i = blocks_.size(); i-- > 0;) {
        if (blocks_[i].capacity != capacity) continue;
        std::unique_ptr<char[]> block = std::move(blocks_[i].data);
        blocks_[i] = std::move(blocks_.back());
        blocks_.pop_back();
        kept_ -= capacity;
        return block;
      }
    }
    return std::unique_ptr<char[]>(new char[capacity]);
  }
  // Keeps the block for a later Take if there is room; frees it otherwise.
  void Give(std::unique_ptr<char[]> block, size_t capacity) {
    if (block == nullptr || capacity < kMinBlock || kept_ + capacity > max_bytes_) return;
    kept_ += capacity;
    blocks_.push_back({std::move(block), capacity});
  }
  size_t kept_bytes() const { return kept_; }

 private:
  struct Block {
    std::unique_ptr<char[]> data;
    size_t capacity;
  };
  const size_t max_bytes_;
  size_t kept_ = 0;
  std::vector<Block> blocks_;
};

}  // namespace cachet::common
