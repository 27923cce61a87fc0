#include "server/text_session.h"

#include <algorithm>
#include <cstring>

#include "common/numbers.h"
#include "protocol/text_parser.h"
#include "protocol/text_reply.h"
#include "server/general_stats.h"

namespace cachet::server {

using common::ByteBuffer;
using common::Outcome;
using protocol::ParseStatus;
using protocol::TextCommand;
using protocol::TextError;
using protocol::TextRequest;

namespace {

void Reply(ByteBuffer& out, std::string_view text, bool noreply) {
  if (!noreply) out.Append(text);
}

// memcached refuses a whole get line when any key is bad, answering only the error.
bool AllKeysValid(std::string_view keys) {
  for (std::string_view k = protocol::NextKey(&keys); !k.empty(); k = protocol::NextKey(&keys)) {
    if (!protocol::KeyIsValid(k)) return false;
  }
  return true;
}

storage::StoreMode ModeOf(TextCommand c) {
  switch (c) {
    case TextCommand::kAdd:
      return storage::StoreMode::kAdd;
    case TextCommand::kReplace:
      return storage::StoreMode::kReplace;
    case TextCommand::kAppend:
      return storage::StoreMode::kAppend;
    case TextCommand::kPrepend:
      return storage::StoreMode::kPrepend;
    case TextCommand::kCas:
      return storage::StoreMode::kCas;
    default:
      return storage::StoreMode::kSet;
  }
}

}  // namespace

TextSession::Action TextSession::Process(ByteBuffer& in, ByteBuffer& out) {
  input_wanted_ = 0;
  server_.RunPendingFlush(server_.time().Now());
  while (true) {
    if (swallow_ > 0) {
      if (!DiscardInput(in, &swallow_)) return Action::kContinue;
      out.Append(swallow_reply_);  // like memcached, answer once the data is gone
      swallow_reply_ = {};
    }
    if (out.size() >= kOutputHighWater || in.empty()) return Action::kContinue;

    TextRequest req;
    size_t consumed = 0;
    const ParseStatus status = protocol::ParseTextRequest(in.readable(), &req, &consumed);
    switch (status) {
      case ParseStatus::kNeedMore:
        return Action::kContinue;
      case ParseStatus::kLineTooLong:
        return Action::kClose;
      case ParseStatus::kNeedData:
        if (TooLarge(req)) {
          in.Consume(consumed);
          RefuseTooLarge(req);
          continue;
        }
        input_wanted_ = consumed + req.bytes + 2;
        return Action::kContinue;
      case ParseStatus::kBadDataChunk:
        worker_.stats.cmd_set.Add();
        in.Consume(consumed);
        Reply(out, protocol::kBadDataChunk, req.noreply);
        continue;
      case ParseStatus::kDone:
        break;
    }
    if (req.error == TextError::kMeta) {
      // Meta errors are never quiet; a bad ms line still owns its data block.
      in.Consume(consumed);
      out.Append(req.meta_error);
      out.Append("\r\n");
      if (req.meta_data_follows) swallow_ = uint64_t{req.bytes} + 2;
      continue;
    }
    if (req.error != TextError::kNone) {
      in.Consume(consumed);
      if (req.error == TextError::kCloseConnection) return Action::kClose;
      Reply(out, protocol::ErrorReply(req.error), req.noreply);
      continue;
    }
    if (req.is_storage() && TooLarge(req)) {
      // Everything arrived at once: drop the line, then discard the data as usual.
      const size_t line = consumed - req.bytes - 2;
      in.Consume(line);
      RefuseTooLarge(req);
      continue;
    }
    const Step step = ExecuteLine(req, out);
    if (step == Step::kPaused) return Action::kContinue;  // the line stays until it is finished
    in.Consume(consumed);
    if (step == Step::kClose) return Action::kClose;
  }
}

bool TextSession::TooLarge(const TextRequest& req) const {
  return !server_.store().size_rule().Fits(req.key.size(), req.flags, req.bytes);
}

void TextSession::RefuseTooLarge(const TextRequest& req) {
  worker_.stats.store_too_large.Add();
  swallow_ = uint64_t{req.bytes} + 2;
  swallow_reply_ = req.noreply ? std::string_view() : protocol::kTooLarge;
  // Like memcached, a failed set (or ms, in any mode) must not leave the old value readable.
  if (req.command == TextCommand::kSet || req.command == TextCommand::kMetaSet) {
    server_.store().Delete(req.key, server_.time().Now());
  }
}

TextSession::Step TextSession::ExecuteLine(const TextRequest& req, ByteBuffer& out) {
  storage::Store& store = server_.store();
  const ServerTime& time = server_.time();
  ThreadStats& stats = worker_.stats;
  switch (req.command) {
    case TextCommand::kGet:
    case TextCommand::kGets:
    case TextCommand::kGat:
    case TextCommand::kGats:
      return ExecuteGet(req, out);
    case TextCommand::kSet:
    case TextCommand::kAdd:
    case TextCommand::kReplace:
    case TextCommand::kAppend:
    case TextCommand::kPrepend:
    case TextCommand::kCas:
      ExecuteStorage(req, out);
      return Step::kDone;
    case TextCommand::kDelete: {
      const Outcome o = store.Delete(req.key, time.Now());
      (o == Outcome::kDeleted ? stats.delete_hits : stats.delete_misses).Add();
      Reply(out, protocol::OutcomeReply(o), req.noreply);
      return Step::kDone;
    }
    case TextCommand::kIncr:
    case TextCommand::kDecr:
      ExecuteArith(req, out);
      return Step::kDone;
    case TextCommand::kTouch: {
      stats.cmd_touch.Add();
      const Outcome o =
          store.Touch(worker_.writer, req.key, time.ToServerTime(req.exptime), time.Now());
      (o == Outcome::kTouched ? stats.touch_hits : stats.touch_misses).Add();
      Reply(out, o == Outcome::kNoMemory ? protocol::kOutOfMemory : protocol::OutcomeReply(o),
            req.noreply);
      return Step::kDone;
    }
    case TextCommand::kFlushAll:
      stats.cmd_flush.Add();
      server_.FlushAll(req.has_number ? req.number : 0);
      Reply(out, protocol::kOk, req.noreply);
      return Step::kDone;
    case TextCommand::kVersion:
      out.Append(protocol::kVersion);
      return Step::kDone;
    case TextCommand::kVerbosity:
      server_.set_verbosity(static_cast<int>(std::min<int64_t>(req.number, 2)));
      Reply(out, protocol::kOk, req.noreply);
      return Step::kDone;
    case TextCommand::kQuit:
      return Step::kClose;
    case TextCommand::kStats:
      ExecuteStats(req, out);
      return Step::kDone;
    case TextCommand::kMetaGet:
    case TextCommand::kMetaSet:
    case TextCommand::kMetaDelete:
    case TextCommand::kMetaArith:
    case TextCommand::kMetaNoop:
    case TextCommand::kMetaDebug:
      meta_.Execute(req, out);
      return Step::kDone;
    case TextCommand::kShutdown:
      out.Append("ERROR: shutdown not enabled\r\n");  // memcached without -A
      return Step::kDone;
    case TextCommand::kDebugTime:
      if (!server_.settings().debugtime) {
        out.Append(protocol::kError);  // what a release memcached answers
        return Step::kDone;
      }
      server_.AdvanceClock(req.number);
      server_.RunPendingFlush(time.Now());
      out.Append(protocol::kOk);
      return Step::kDone;
  }
  return Step::kDone;
}

TextSession::Step TextSession::ExecuteGet(const TextRequest& req, ByteBuffer& out) {
  const bool with_cas = req.command == TextCommand::kGets || req.command == TextCommand::kGats;
  const bool touch = req.command == TextCommand::kGat || req.command == TextCommand::kGats;
  const ServerTime& time = server_.time();
  const uint32_t now = time.Now();
  const uint32_t exptime = touch ? time.ToServerTime(req.exptime) : 0;
  ThreadStats& stats = worker_.stats;
  std::string_view keys = req.keys.substr(std::min(get_resume_, req.keys.size()));
  const size_t total = req.keys.size();
  if (get_resume_ == 0 && !AllKeysValid(req.keys)) {
    out.Append(protocol::kBadFormat);
    return Step::kDone;
  }

  while (true) {
    if (out.size() >= kOutputHighWater) {
      get_resume_ = total - keys.size();
      return Step::kPaused;
    }
    const std::string_view key = protocol::NextKey(&keys);
    if (key.empty()) break;
    // memcached counts gat/gats keys as touches only.
    (touch ? stats.cmd_touch : stats.cmd_get).Add();
    auto emit = [&](const storage::ItemView& item) {
      char* p = out.Reserve(protocol::kMaxValueHeader + item.value.size() + 2);
      size_t n = protocol::FormatValueHeader(
          p, item.key, item.flags, static_cast<uint32_t>(item.value.size()), with_cas, item.cas);
      std::memcpy(p + n, item.value.data(), item.value.size());
      n += item.value.size();
      p[n++] = '\r';
      p[n++] = '\n';
      out.Commit(n);
    };
    const storage::ReadStatus r =
        touch ? server_.store().GetAndTouch(worker_.writer, key, exptime, now, emit)
              : server_.store().Get(key, now, emit);
    if (r == storage::ReadStatus::kHit) {
      (touch ? stats.touch_hits : stats.get_hits).Add();
    } else {
      (touch ? stats.touch_misses : stats.get_misses).Add();
      if (r == storage::ReadStatus::kExpired) stats.get_expired.Add();
    }
  }
  get_resume_ = 0;
  out.Append(protocol::kEnd);
  return Step::kDone;
}

void TextSession::ExecuteStorage(const TextRequest& req, ByteBuffer& out) {
  ThreadStats& stats = worker_.stats;
  const ServerTime& time = server_.time();
  stats.cmd_set.Add();
  const Outcome o =
      server_.store().Put(worker_.writer, ModeOf(req.command), req.key, req.data, req.flags,
                          time.ToServerTime(req.exptime), req.cas, time.Now());
  if (req.command == TextCommand::kCas) {
    CountCas(stats, o);
  }
  if (o == Outcome::kNoMemory) {
    stats.store_no_memory.Add();
    // Like memcached: a set that cannot be stored must not leave the old value readable.
    if (req.command == TextCommand::kSet) server_.store().Delete(req.key, time.Now());
  }
  if (o == Outcome::kTooLarge) stats.store_too_large.Add();
  Reply(out, protocol::OutcomeReply(o), req.noreply);
}

void TextSession::ExecuteArith(const TextRequest& req, ByteBuffer& out) {
  const bool incr = req.command == TextCommand::kIncr;
  uint64_t value = 0;
  const Outcome o =
      server_.store().Arith(worker_.writer, req.key, incr, req.delta, server_.time().Now(), &value);
  ThreadStats& stats = worker_.stats;
  if (o == Outcome::kNotFound) {
    (incr ? stats.incr_misses : stats.decr_misses).Add();
  } else if (o == Outcome::kStored) {
    (incr ? stats.incr_hits : stats.decr_hits).Add();
  }
  if (req.noreply) return;
  switch (o) {
    case Outcome::kStored: {
      char* p = out.Reserve(22);
      size_t n = common::FormatU64(value, p);
      p[n++] = '\r';
      p[n++] = '\n';
      out.Commit(n);
      break;
    }
    case Outcome::kNoMemory:
      out.Append(protocol::kOutOfMemory);
      break;
    default:
      out.Append(protocol::OutcomeReply(o));
      break;
  }
}

void TextSession::ExecuteStats(const TextRequest& req, ByteBuffer& out) {
  std::string_view args = req.args;
  const std::string_view group = protocol::NextKey(&args);
  if (group.empty()) {
    VisitGeneralStats(server_, [&](std::string_view name, std::string_view value) {
      out.Append("STAT ");
      out.Append(name);
      out.Append(' ');
      out.Append(value);
      out.Append("\r\n");
    });
    out.Append(protocol::kEnd);
  } else if (group == "reset") {
    server_.ResetStats();
    out.Append(protocol::kReset);
  } else {
    out.Append(protocol::kError);  // groups not implemented yet answer like unknown ones
  }
}

}  // namespace cachet::server
