#include "server/binary_session.h"

#include <algorithm>
#include <cstring>

#include "common/numbers.h"
#include "protocol/binary_reply.h"
#include "server/general_stats.h"
#include "server/stats_groups.h"

namespace cachet::server {

using common::ByteBuffer;
using common::Outcome;
using protocol::BinaryFrame;
using protocol::BinaryHeader;
using protocol::BinaryRequest;
using protocol::BinaryStatus;
namespace op = protocol::binop;

SessionAction BinarySession::Process(ByteBuffer& in, ByteBuffer& out) {
  input_wanted_ = 0;
  server_.RunPendingFlush(server_.time().Now());
  while (true) {
    if (swallow_ > 0) {
      if (!DiscardInput(in, &swallow_)) return SessionAction::kContinue;
    }
    if (swallow_reply_pending_) {  // like memcached, answer once the body is gone
      protocol::AppendBinaryError(out, swallow_header_, swallow_status_);
      swallow_reply_pending_ = false;
    }
    if (out.size() >= kOutputHighWater || in.empty()) return SessionAction::kContinue;
    if (charge_ != nullptr && charge_->exhausted()) return SessionAction::kContinue;

    BinaryRequest req;
    switch (protocol::FrameBinaryRequest(in.readable(), &req)) {
      case BinaryFrame::kNeedMore:
        if (in.size() >= protocol::kBinaryHeaderSize) {
          input_wanted_ = protocol::kBinaryHeaderSize + req.header.extras_len + req.header.key_len;
        }
        return SessionAction::kContinue;
      case BinaryFrame::kBadMagic:
        return SessionAction::kCloseOnError;
      case BinaryFrame::kBadLengths:
        protocol::AppendBinaryError(out, req.header, BinaryStatus::kUnknownCommand);
        return SessionAction::kCloseOnError;
      case BinaryFrame::kReady:
        break;
    }
    const BinaryHeader& h = req.header;
    if (!auth_.Admits(h.opcode)) {  // -S: memcached refuses before looking at the request
      protocol::AppendBinaryError(out, h, BinaryStatus::kAuthError);
      return SessionAction::kCloseOnError;
    }
    bool quiet;
    const uint8_t base = protocol::BaseOpcode(h.opcode, &quiet);
    const bool sasl = auth_.enabled() && BinaryAuth::IsSasl(base);
    protocol::BinaryShape shape = protocol::CheckBinaryShape(base, h);
    // With -S a well-formed SASL request is served (protocol/ calls it unknown otherwise).
    if (sasl && shape == protocol::BinaryShape::kUnknownOpcode)
      shape = protocol::BinaryShape::kValid;
    if (shape == protocol::BinaryShape::kInvalid) {
      protocol::AppendBinaryError(out, h, BinaryStatus::kInvalidArguments);
      return SessionAction::kCloseOnError;
    }
    if (shape == protocol::BinaryShape::kUnknownOpcode) {
      // memcached would misread the rest of the body as commands; skipping it keeps the
      // stream in sync.
      in.Consume(req.prefix_len);
      Discard(h, BinaryStatus::kUnknownCommand, req.value_len);
      continue;
    }
    if (protocol::CarriesValue(base)) {
      const uint32_t flags =
          base == op::kAppend || base == op::kPrepend ? 0 : protocol::LoadBe32(req.extras.data());
      if (!server_.store().size_rule().Fits(req.key.size(), flags, req.value_len)) {
        worker_.stats.store_too_large.Add();
        // Like memcached, a failed set must not leave the old value readable.
        if (base == op::kSet) server_.store().Delete(req.key, server_.time().Now());
        in.Consume(req.prefix_len);
        Discard(h, BinaryStatus::kTooLarge, req.value_len);
        continue;
      }
    }
    if (sasl && (req.key.size() > BinaryAuth::kMaxMechanism ||
                 req.value_len > server_.settings().item_size_max)) {
      // memcached: a long mechanism name is invalid; data it cannot allocate, out of memory.
      in.Consume(req.prefix_len);
      Discard(h,
              req.key.size() > BinaryAuth::kMaxMechanism ? BinaryStatus::kInvalidArguments
                                                         : BinaryStatus::kOutOfMemory,
              req.value_len);
      continue;
    }
    // Only storage and SASL opcodes own a value; like memcached, bytes a TOUCH, GAT or STAT
    // declares beyond its key are left in the stream as the next request.
    const size_t total =
        req.prefix_len + (protocol::CarriesValue(base) || sasl ? req.value_len : 0);
    if (in.size() < total) {
      input_wanted_ = total;
      return SessionAction::kContinue;
    }
    const std::string_view value = in.readable().substr(req.prefix_len, total - req.prefix_len);
    const size_t out_before = out.size();
    Step step;
    if (server_.settings().cas_enabled) {
      step = Execute(req, value, out);
    } else {
      // -C: like memcached, a request's CAS is ignored and every reply carries CAS 0.
      protocol::BinaryRequest no_cas = req;
      no_cas.header.cas = 0;
      step = Execute(no_cas, value, out);
      ZeroReplyCas(out, out_before);
    }
    in.Consume(total);
    if (step == Step::kClose) return SessionAction::kClose;
  }
}

void BinarySession::ZeroReplyCas(ByteBuffer& out, size_t from) {
  std::string_view replies = out.readable().substr(from);
  char* base = const_cast<char*>(replies.data());
  size_t at = 0;
  while (at + protocol::kBinaryHeaderSize <= replies.size()) {
    std::memset(base + at + 16, 0, 8);  // the header's CAS field
    at += protocol::kBinaryHeaderSize + protocol::LoadBe32(base + at + 8);
  }
}

void BinarySession::Discard(const BinaryHeader& h, BinaryStatus status, uint32_t bytes) {
  swallow_ = bytes;
  swallow_header_ = h;
  swallow_status_ = status;
  swallow_reply_pending_ = true;
}

BinarySession::Step BinarySession::Execute(const BinaryRequest& req, std::string_view value,
                                           ByteBuffer& out) {
  const BinaryHeader& h = req.header;
  bool quiet;
  const uint8_t base = protocol::BaseOpcode(h.opcode, &quiet);
  ThreadStats& stats = worker_.stats;
  switch (base) {
    case op::kGet:
    case op::kGetK:
    case op::kTouch:
    case op::kGat:
    case op::kGatK:
      ExecuteGet(req, out);
      return Step::kDone;
    case op::kSet:
    case op::kAdd:
    case op::kReplace:
    case op::kAppend:
    case op::kPrepend:
      ExecuteStore(req, value, out);
      return Step::kDone;
    case op::kIncrement:
    case op::kDecrement:
      ExecuteArith(req, out);
      return Step::kDone;
    case op::kDelete: {
      server_.prefix_stats().RecordDelete(req.key);
      const Outcome o = server_.store().Delete(req.key, server_.time().Now(), h.cas);
      if (o == Outcome::kDeleted) stats.delete_hits.Add();
      if (o == Outcome::kNotFound) stats.delete_misses.Add();
      protocol::AppendBinaryWriteReply(out, h, o, base, quiet, 0);
      return Step::kDone;
    }
    case op::kFlush:
      ExecuteFlush(req, out);
      return Step::kDone;
    case op::kNoop:
      protocol::AppendBinaryResponse(out, h, BinaryStatus::kOk, 0, {}, {}, {});
      return Step::kDone;
    case op::kVersion:
      protocol::AppendBinaryResponse(out, h, BinaryStatus::kOk, 0, {}, {}, "1.6.18");
      return Step::kDone;
    case op::kQuit:
      if (!quiet) protocol::AppendBinaryResponse(out, h, BinaryStatus::kOk, 0, {}, {}, {});
      return Step::kClose;
    case op::kStat:
      ExecuteStat(req, out);
      return Step::kDone;
    case op::kSaslListMechs:
    case op::kSaslAuth:
    case op::kSaslStep:
      auth_.Execute(h, req.key, value, out, stats);
      return Step::kDone;
    default:
      return Step::kDone;  // unreachable: CheckShape admitted only the opcodes above
  }
}

void BinarySession::ExecuteGet(const BinaryRequest& req, ByteBuffer& out) {
  const BinaryHeader& h = req.header;
  bool quiet;
  const uint8_t base = protocol::BaseOpcode(h.opcode, &quiet);
  const bool touch = base == op::kTouch || base == op::kGat || base == op::kGatK;
  const bool with_key = base == op::kGetK || base == op::kGatK;
  const bool with_value = base != op::kTouch;
  const ServerTime& time = server_.time();
  const uint32_t now = time.Now();
  ThreadStats& stats = worker_.stats;
  auto emit = [&](const storage::ItemView& item) {
    // No room in the buffer budget: the reply is not built and the connection closes.
    if (charge_ != nullptr && !charge_->AffordAppend(out, protocol::kBinaryHeaderSize + 4 +
                                                              req.key.size() + item.value.size())) {
      return;
    }
    char flags[4];
    protocol::StoreBe32(item.flags, flags);
    protocol::AppendBinaryResponse(out, h, BinaryStatus::kOk, item.cas, std::string_view(flags, 4),
                                   with_key ? req.key : "", with_value ? item.value : "");
  };
  storage::ReadStatus r;
  if (touch) {
    stats.cmd_touch.Add();
    const uint32_t exptime = time.ToServerTime(protocol::LoadBe32(req.extras.data()));
    r = server_.store().GetAndTouch(worker_.writer, req.key, exptime, now, emit);
    (r == storage::ReadStatus::kHit ? stats.touch_hits : stats.touch_misses).Add();
  } else {
    stats.cmd_get.Add();
    r = server_.store().Get(req.key, now, emit);
    (r == storage::ReadStatus::kHit ? stats.get_hits : stats.get_misses).Add();
    if (r == storage::ReadStatus::kExpired) stats.get_expired.Add();
  }
  server_.prefix_stats().RecordGet(req.key,
                                   r == storage::ReadStatus::kHit);  // gat too, as memcached
  if (r == storage::ReadStatus::kHit || quiet) return;
  if (with_key) {
    // memcached's miss for the K variants carries the key as its whole body.
    protocol::AppendBinaryResponse(out, h, BinaryStatus::kKeyNotFound, 0, {}, req.key, {});
  } else {
    protocol::AppendBinaryError(out, h, BinaryStatus::kKeyNotFound);
  }
}

void BinarySession::ExecuteStore(const BinaryRequest& req, std::string_view value,
                                 ByteBuffer& out) {
  const BinaryHeader& h = req.header;
  bool quiet;
  const uint8_t base = protocol::BaseOpcode(h.opcode, &quiet);
  const ServerTime& time = server_.time();
  ThreadStats& stats = worker_.stats;
  storage::StoreMode mode = storage::StoreMode::kSet;
  uint32_t flags = 0, exptime = 0;
  if (base == op::kAppend || base == op::kPrepend) {
    mode = base == op::kAppend ? storage::StoreMode::kAppend : storage::StoreMode::kPrepend;
  } else {
    flags = protocol::LoadBe32(req.extras.data());
    exptime = time.ToServerTime(protocol::LoadBe32(req.extras.data() + 4));
    // A CAS in the header turns set, add and replace into a compare-and-swap, as in memcached.
    if (h.cas != 0) {
      mode = storage::StoreMode::kCas;
    } else if (base == op::kAdd) {
      mode = storage::StoreMode::kAdd;
    } else if (base == op::kReplace) {
      mode = storage::StoreMode::kReplace;
    }
  }
  stats.cmd_set.Add();
  server_.prefix_stats().RecordSet(req.key);
  uint64_t cas = 0;
  const Outcome o = server_.store().Put(worker_.writer, mode, req.key, value, flags, exptime, h.cas,
                                        time.Now(), &cas);
  if (mode == storage::StoreMode::kCas) {
    CountCas(stats, o);
  }
  if (o == Outcome::kNoMemory) {
    stats.store_no_memory.Add();
    // Like memcached, a set that cannot be stored must not leave the old value readable.
    if (base == op::kSet) server_.store().Delete(req.key, time.Now());
  }
  protocol::AppendBinaryWriteReply(out, h, o, base, quiet, cas);
}

void BinarySession::ExecuteArith(const BinaryRequest& req, ByteBuffer& out) {
  const BinaryHeader& h = req.header;
  bool quiet;
  const uint8_t base = protocol::BaseOpcode(h.opcode, &quiet);
  const bool incr = base == op::kIncrement;
  const uint64_t delta = protocol::LoadBe64(req.extras.data());
  const uint64_t initial = protocol::LoadBe64(req.extras.data() + 8);
  const uint32_t expiration = protocol::LoadBe32(req.extras.data() + 16);
  const ServerTime& time = server_.time();
  ThreadStats& stats = worker_.stats;
  uint64_t value = 0, cas = 0;
  Outcome o =
      server_.store().Arith(worker_.writer, req.key, incr, delta, time.Now(), &value, h.cas, &cas);
  if (o == Outcome::kNotFound && expiration == 0xffffffffu) {
    (incr ? stats.incr_misses : stats.decr_misses).Add();  // memcached counts only these
  } else if (o == Outcome::kNotFound) {
    // Create it with the initial value (not counting the delta), as memcached does.
    char digits[20];
    const std::string_view text(digits, common::FormatU64(initial, digits));
    o = server_.store().Put(worker_.writer, storage::StoreMode::kAdd, req.key, text, 0,
                            time.ToServerTime(expiration), 0, time.Now(), &cas);
    value = initial;
    if (o != Outcome::kStored) {
      const protocol::BinaryReply reply = protocol::BinaryReplyFor(o, base, /*creating=*/true);
      protocol::AppendBinaryError(out, h, reply.status, reply.text);
      return;
    }
  } else if (o == Outcome::kStored) {
    (incr ? stats.incr_hits : stats.decr_hits).Add();
  }
  if (o != Outcome::kStored) {
    const protocol::BinaryReply reply = protocol::BinaryReplyFor(o, base);
    protocol::AppendBinaryError(out, h, reply.status, reply.text);
    return;
  }
  if (quiet) return;
  char body[8];
  protocol::StoreBe64(value, body);
  protocol::AppendBinaryResponse(out, h, BinaryStatus::kOk, cas, {}, {}, std::string_view(body, 8));
}

void BinarySession::ExecuteFlush(const BinaryRequest& req, ByteBuffer& out) {
  bool quiet;
  protocol::BaseOpcode(req.header.opcode, &quiet);
  if (!server_.settings().flush_enabled) {  // -F: an auth error, not counted (as memcached)
    protocol::AppendBinaryError(out, req.header, BinaryStatus::kAuthError);
    return;
  }
  worker_.stats.cmd_flush.Add();
  const int64_t delay = req.extras.size() == 4 ? protocol::LoadBe32(req.extras.data()) : 0;
  server_.FlushAll(delay);
  if (!quiet) protocol::AppendBinaryResponse(out, req.header, BinaryStatus::kOk, 0, {}, {}, {});
}

namespace {
// memcached's binary STAT matches "settings" by prefix ("settingsx" is "settings"), items,
// slabs and sizes exactly, and has no conns group.
std::string_view BinaryStatGroup(std::string_view key) {
  if (key.starts_with("settings")) return "settings";
  if (key == "conns") return "no such group";
  return key;
}
}  // namespace

void BinarySession::ExecuteStat(const BinaryRequest& req, ByteBuffer& out) {
  const BinaryHeader& h = req.header;
  if (req.key.empty()) {
    VisitGeneralStats(server_, [&](std::string_view name, std::string_view value) {
      protocol::AppendBinaryResponse(out, h, BinaryStatus::kOk, 0, {}, name, value);
    });
  } else if (req.key.starts_with("reset")) {
    server_.ResetStats();
  } else if (req.key.starts_with("detail")) {
    // memcached matches " dump", " on" and " off" by prefix after "detail"; the dump is one
    // stat named "detailed" holding the text dump.
    const std::string_view sub = req.key.substr(6);
    if (sub.starts_with(" dump")) {
      protocol::AppendBinaryResponse(out, h, BinaryStatus::kOk, 0, {}, "detailed",
                                     server_.prefix_stats().Dump());
    } else if (sub.starts_with(" on") || sub.starts_with(" off")) {
      server_.prefix_stats().set_enabled(sub.starts_with(" on"));
    } else {
      protocol::AppendBinaryError(out, h, BinaryStatus::kKeyNotFound);
      return;
    }
  } else if (!VisitStatsGroup(server_, BinaryStatGroup(req.key),
                              [&](std::string_view name, std::string_view value) {
                                protocol::AppendBinaryResponse(out, h, BinaryStatus::kOk, 0, {},
                                                               name, value);
                              })) {
    protocol::AppendBinaryError(out, h, BinaryStatus::kKeyNotFound);
    return;
  }
  protocol::AppendBinaryResponse(out, h, BinaryStatus::kOk, 0, {}, {}, {});  // end of stats
}

}  // namespace cachet::server
