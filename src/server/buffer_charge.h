#pragma once
// One connection's charge against the BufferBudget: what its input and output buffers hold past
// the free allowance. The connection charges as its buffers grow and shrink; a session asks
// before it copies a value into the output, so that a reply the budget has no room for is never
// built. When the budget has no room for a reply, the worker first closes its connection that
// holds the most of an unfinished request (if that frees enough): a client that sent part of a
// megabyte value and stopped gives way to one that asked for a value. Otherwise the connection
// that needed the room closes. Only input is taken: reclaiming for input, or from replies, would
// let each hostile client in turn take a megabyte from the previous one (measured: a 1000-client
// attack then costs ~1 GB of copying, and the probe's max latency went from 9 to 170-870 ms).
#include <cstddef>

#include "common/byte_buffer.h"
#include "server/buffer_budget.h"

namespace cachet::server {

class BufferCharge;

// Frees budget for `requester` by closing another connection (its worker's): true if that
// released at least `need` bytes.
class BufferReclaimer {
 public:
  virtual bool Reclaim(size_t need, const BufferCharge& requester) = 0;

 protected:
  ~BufferReclaimer() = default;
};

class BufferCharge {
 public:
  explicit BufferCharge(BufferBudget& budget) : budget_(budget) {}
  ~BufferCharge() { budget_.Release(charged_); }
  BufferCharge(const BufferCharge&) = delete;
  BufferCharge& operator=(const BufferCharge&) = delete;

  // Charges for buffers of these capacities (input holding part of a request or not), or gives
  // back what they no longer need; false (charging nothing) when the budget has no room, even
  // after a reclaim when `reclaim` allows one.
  bool Afford(size_t in_capacity, bool in_holds_data, size_t out_capacity, bool reclaim = false) {
    if (doomed_) return false;
    const size_t cost = budget_.Cost(in_capacity, in_holds_data, out_capacity);
    if (cost > charged_) {
      const size_t need = cost - charged_;
      if (!budget_.TryCharge(need) &&
          (!reclaim || reclaimer_ == nullptr || !reclaimer_->Reclaim(need, *this) ||
           !budget_.TryCharge(need))) {
        return false;
      }
    } else if (cost < charged_) {  // (equal, the common case: no shared write at all)
      budget_.Release(charged_ - cost);
    }
    charged_ = cost;
    in_capacity_ = in_capacity;
    in_holds_data_ = in_holds_data;
    return true;
  }
  // Before appending n bytes to `out`: charges for the growth they need, if any; false, and
  // exhausted from then on (the session stops, the connection closes), when it has no room.
  bool AffordAppend(const common::ByteBuffer& out, size_t n) {
    const size_t capacity = out.CapacityFor(n);
    if (capacity == out.capacity() || Afford(in_capacity_, in_holds_data_, capacity, true)) {
      return true;
    }
    exhausted_ = true;
    return false;
  }
  bool exhausted() const { return exhausted_; }
  size_t charged() const { return charged_; }
  // The part of it that is input: a request that has not all arrived.
  size_t input_charged() const { return in_holds_data_ ? in_capacity_ : 0; }
  void set_reclaimer(BufferReclaimer* reclaimer) { reclaimer_ = reclaimer; }
  // Closed to make room for another connection: gives its charge back now (its buffers are
  // freed when the worker closes it, within the same loop turn) and never charges again.
  void Forfeit() {
    budget_.Release(charged_);
    charged_ = 0;
    doomed_ = true;
  }
  bool doomed() const { return doomed_; }

 private:
  BufferBudget& budget_;
  size_t charged_ = 0;
  size_t in_capacity_ = 0;  // as last charged
  bool in_holds_data_ = false;
  bool exhausted_ = false;
  bool doomed_ = false;
  BufferReclaimer* reclaimer_ = nullptr;
};

}  // namespace cachet::server
