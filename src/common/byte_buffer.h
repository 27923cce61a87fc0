#pragma once
// A growable byte buffer with a read cursor: bytes are appended at the back and consumed from the
// front. Memory is reused across requests; Compact() moves unread bytes to the front instead of
// reallocating, and Shrink() gives a large buffer back once it is empty: to its BufferPool, if
// it has one, which hands it to the next buffer of its thread that grows as large.
#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>

#include "common/buffer_pool.h"

namespace cachet::common {

class ByteBuffer {
 public:
  // `pool`, if any, must outlive the buffer and be used by the same thread only.
  explicit ByteBuffer(size_t initial_capacity = 4096, BufferPool* pool = nullptr)
      : data_(Allocate(pool, initial_capacity)), capacity_(initial_capacity), pool_(pool) {}
  ~ByteBuffer() {
    if (pool_ != nullptr) pool_->Give(std::move(data_), capacity_);
  }
  ByteBuffer(const ByteBuffer&) = delete;
  ByteBuffer& operator=(const ByteBuffer&) = delete;

  std::string_view readable() const { return {data_.get() + read_, write_ - read_}; }
  size_t size() const { return write_ - read_; }
  bool empty() const { return write_ == read_; }
  size_t capacity() const { return capacity_; }

  void Consume(size_t n) {
    read_ += n;
    if (read_ == write_) read_ = write_ = 0;
  }

  // Room for at least n more bytes at the back; returns where to write.
  char* Reserve(size_t n) {
    if (capacity_ - write_ < n) MakeRoom(n);
    return data_.get() + write_;
  }
  void Commit(size_t n) { write_ += n; }
  // The capacity Reserve(n) would leave (it grows by doubling unless compacting makes room).
  size_t CapacityFor(size_t n) const {
    if (capacity_ - write_ >= n) return capacity_;
    const size_t used = write_ - read_;
    if (read_ > 0 && capacity_ - used >= n && used <= capacity_ / 2) return capacity_;
    size_t cap = capacity_ * 2;
    while (cap < used + n) cap *= 2;
    return cap;
  }
  // Moves unread bytes to the front: room for capacity() - size() more without growing.
  char* ReserveInPlace() {
    if (read_ > 0) {
      std::memmove(data_.get(), data_.get() + read_, write_ - read_);
      write_ -= read_;
      read_ = 0;
    }
    return data_.get() + write_;
  }

  void Append(std::string_view s) {
    if (s.empty()) return;  // an empty view may carry a null pointer, which memcpy must not get
    std::memcpy(Reserve(s.size()), s.data(), s.size());
    write_ += s.size();
  }
  void Append(char c) {
    *Reserve(1) = c;
    ++write_;
  }

  // Frees a buffer that grew past `limit` once it holds nothing.
  void ShrinkIfEmpty(size_t limit, size_t to) {
    if (empty() && capacity_ > limit) Replace(Allocate(pool_, to), to);
  }

 private:
  void MakeRoom(size_t n) {
    const size_t used = write_ - read_;
    if (read_ > 0 && capacity_ - used >= n && used <= capacity_ / 2) {
      std::memmove(data_.get(), data_.get() + read_, used);  // compact, no allocation
    } else {
      size_t cap = capacity_ * 2;
      while (cap < used + n) cap *= 2;
      std::unique_ptr<char[]> bigger = Allocate(pool_, cap);
      std::memcpy(bigger.get(), data_.get() + read_, used);
      Replace(std::move(bigger), cap);
    }
    read_ = 0;
    write_ = used;
  }

  static std::unique_ptr<char[]> Allocate(BufferPool* pool, size_t capacity) {
    return pool != nullptr ? pool->Take(capacity) : std::unique_ptr<char[]>(new char[capacity]);
  }
  void Replace(std::unique_ptr<char[]> block, size_t capacity) {
    std::swap(data_, block);
    if (pool_ != nullptr) pool_->Give(std::move(block), capacity_);
    capacity_ = capacity;
  }

  std::unique_ptr<char[]> data_;
  size_t capacity_;
  BufferPool* pool_;
  size_t read_ = 0;
  size_t write_ = 0;
};

}  // namespace cachet::common
