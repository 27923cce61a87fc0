#include "server/text_session.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "common/numbers.h"
#include "protocol/key_lookahead.h"
#include "protocol/text_parser.h"
#include "protocol/text_reply.h"
#include "server/watch_events.h"

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

std::string_view CommandName(TextCommand c) {
  switch (c) {
    case TextCommand::kAdd:
      return "add";
    case TextCommand::kReplace:
      return "replace";
    case TextCommand::kAppend:
      return "append";
    case TextCommand::kPrepend:
      return "prepend";
    case TextCommand::kCas:
      return "cas";
    default:
      return "set";
  }
}

}  // namespace

TextSession::Action TextSession::Process(ByteBuffer& in, ByteBuffer& out) {
  input_wanted_ = 0;
  batch_commands_ = 0;
  prefetched_until_ = 0;
  yielded_ = false;
  waiting_ = false;
  if (!auth_.authenticated()) {  // -Y: nothing else runs before the client authenticates
    const Action a = auth_.Process(in, out, worker_.stats, &input_wanted_);
    if (a != Action::kContinue || !auth_.authenticated()) return a;
  }
  server_.RunPendingFlush(server_.time().Now());
  // One request object for the whole batch: parsing a line re-initialises it (it is ~1 KB, so
  // constructing one per line showed in profiles).
  TextRequest req;
  while (true) {
    if (swallow_ > 0) {
      if (!DiscardInput(in, &swallow_)) return Action::kContinue;
      out.Append(swallow_reply_);  // like memcached, answer once the data is gone
      swallow_reply_ = {};
    }
    if (out.size() >= kOutputHighWater || in.empty()) return Action::kContinue;
    if (charge_ != nullptr && charge_->exhausted()) return Action::kContinue;  // closing
    // -R: after this many requests, let the worker serve other connections first.
    if (batch_commands_ >= static_cast<size_t>(server_.settings().reqs_per_event)) {
      worker_.stats.conn_yields.Add();
      yielded_ = true;
      return Action::kContinue;
    }

    // Pipelined requests and multigets: start fetching the next keys' index slots and items
    // together, so their cache misses overlap instead of each request waiting for its own.
    if (batch_commands_ >= prefetched_until_) {
      prefetched_until_ = batch_commands_ + std::max<size_t>(1, PrefetchAhead(in.readable()));
    }

    size_t consumed = 0;
    const ParseStatus status =
        protocol::ParseTextRequest(in.readable(), &req, &consumed, &newline_scanned_);
    switch (status) {
      case ParseStatus::kNeedMore:
        return Action::kContinue;
      case ParseStatus::kLineTooLong:
        return Action::kCloseOnError;
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
      if (server_.verbosity() >= 2) {
        LogRequestLine(in.readable());
        if (!req.noreply && req.error != TextError::kCloseConnection) {
          LogReplies(protocol::ErrorReply(req.error));
        }
      }
      in.Consume(consumed);
      if (req.error == TextError::kCloseConnection) return Action::kCloseOnError;
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
    ++batch_commands_;
    const bool verbose = server_.verbosity() >= 2;
    const size_t out_before = out.size();
    if (verbose) LogRequestLine(in.readable());
    const Step step = ExecuteLine(req, out);
    if (verbose && !req.is_meta()) LogReplies(out.readable().substr(out_before));
    if (marks_ != nullptr) marks_->push_back(out.size());
    if (step == Step::kWaiting) {
      waiting_ = true;  // the line stays; the worker drives the session again when woken
      return Action::kContinue;
    }
    if (step == Step::kPaused) {
      // The line stays until it is finished. A listing that paused below the high-water mark
      // did a slice of work: yield, so the worker serves its other connections first.
      if (out.size() < kOutputHighWater) yielded_ = true;
      return Action::kContinue;
    }
    in.Consume(consumed);
    if (step == Step::kClose) return Action::kClose;
    if (step == Step::kWatch) return Action::kWatch;  // what follows is ignored, as memcached
  }
}

size_t TextSession::PrefetchAhead(std::string_view input) const {
  std::string_view keys[storage::Store::kMaxPrefetch];
  size_t n = 0;
  const size_t requests = protocol::LookAheadKeys(input, storage::Store::kMaxPrefetch,
                                                  [&](std::string_view k) { keys[n++] = k; });
  // A single key gains nothing: its own lookup is as early as the prefetch would be.
  if (n >= 2) server_.store().Prefetch(keys, n);
  return requests;
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
      server_.prefix_stats().RecordDelete(req.key);
      WatchLookup(server_, client_fd_, req.key);
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
      WatchLookup(server_, client_fd_, req.key);
      const Outcome o =
          store.Touch(worker_.writer, req.key, time.ToServerTime(req.exptime), time.Now());
      (o == Outcome::kTouched ? stats.touch_hits : stats.touch_misses).Add();
      Reply(out, o == Outcome::kNoMemory ? protocol::kOutOfMemory : protocol::OutcomeReply(o),
            req.noreply);
      return Step::kDone;
    }
    case TextCommand::kFlushAll:
      if (!server_.settings().flush_enabled) {
        // memcached counts the refused attempt (and stays silent for noreply).
        stats.cmd_flush.Add();
        Reply(out, protocol::kFlushNotAllowed, req.noreply);
        return Step::kDone;
      }
      stats.cmd_flush.Add();
      server_.FlushAll(req.has_number ? req.number : 0);
      Reply(out, protocol::kOk, req.noreply);
      return Step::kDone;
    case TextCommand::kFlushPrefix:
      if (!server_.settings().flush_enabled) {  // -F refuses it as it refuses flush_all
        Reply(out, protocol::kFlushPrefixNotAllowed, req.noreply);
        return Step::kDone;
      }
      stats.cmd_flush_prefix.Add();
      {
        const bool ok = server_.FlushPrefix(req.key) != 0;
        WatchFlushPrefix(server_, client_fd_, req.key, ok);
        Reply(out, ok ? protocol::kOk : protocol::kTooManyPrefixRules, req.noreply);
      }
      return Step::kDone;
    case TextCommand::kVersion:
      out.Append(protocol::kVersion);
      return Step::kDone;
    case TextCommand::kQuit:
      return Step::kClose;
    case TextCommand::kMetaGet:
    case TextCommand::kMetaSet:
    case TextCommand::kMetaDelete:
    case TextCommand::kMetaArith:
    case TextCommand::kMetaNoop:
    case TextCommand::kMetaPrefix:
    case TextCommand::kMetaDebug:
      return meta_.Execute(req, out);
    default:
      // Operator commands: the first line of what the client sent at once may be a metadump
      // or a watch.
      return ops_.Execute(req, out.empty() && batch_commands_ <= 1, out);
  }
}

TextSession::Step TextSession::ExecuteGet(const TextRequest& req, ByteBuffer& out) {
  const bool with_cas = req.command == TextCommand::kGets || req.command == TextCommand::kGats;
  const bool cas_enabled = server_.settings().cas_enabled;
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
    if (charge_ != nullptr && charge_->exhausted()) return Step::kDone;  // closing
    if (out.size() >= kOutputHighWater) {
      get_resume_ = total - keys.size();
      return Step::kPaused;
    }
    const std::string_view key = protocol::NextKey(&keys);
    if (key.empty()) break;
    size_t last_len = 0;  // for `watch fetchers`
    uint32_t last_flags = 0;
    // memcached counts gat/gats keys as touches only.
    (touch ? stats.cmd_touch : stats.cmd_get).Add();
    auto emit = [&](const storage::ItemView& item) {
      // Over UDP every hit is a response of its own (END rides on the last one).
      if (marks_ != nullptr && out.size() > 0) marks_->push_back(out.size());
      last_len = item.value.size();
      last_flags = item.flags;
      const size_t bound = protocol::kMaxValueHeader + item.value.size() + 2;
      // No room in the buffer budget: the reply is not built and the connection closes.
      if (charge_ != nullptr && !charge_->AffordAppend(out, bound)) return;
      char* p = out.Reserve(bound);
      size_t n = protocol::FormatValueHeader(p, item.key, item.flags,
                                             static_cast<uint32_t>(item.value.size()), with_cas,
                                             cas_enabled ? item.cas : 0);
      std::memcpy(p + n, item.value.data(), item.value.size());
      n += item.value.size();
      p[n++] = '\r';
      p[n++] = '\n';
      out.Commit(n);
    };
    const storage::ReadStatus r =
        touch ? server_.store().GetAndTouch(worker_.writer, key, exptime, now, emit)
              : server_.store().Get(key, now, emit);
    server_.prefix_stats().RecordGet(key, r == storage::ReadStatus::kHit);
    if (server_.watch().Wants(protocol::kWatchFetchers)) {
      WatchFetch(server_, client_fd_, key, r == storage::ReadStatus::kHit, last_len, last_flags);
    }
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
  server_.prefix_stats().RecordSet(req.key);
  WatchLookup(server_, client_fd_, req.key);
  const Outcome o =
      req.command == TextCommand::kCas && !server_.settings().cas_enabled
          ? CasWithoutCas(req.key)
          : server_.store().Put(worker_.writer, ModeOf(req.command), req.key, req.data, req.flags,
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
  if (server_.watch().Wants(protocol::kWatchMutations)) {
    size_t size = req.data.size();
    uint32_t flags = req.flags;
    uint32_t exptime = time.ToServerTime(req.exptime);
    if (o == Outcome::kStored &&
        (req.command == TextCommand::kAppend || req.command == TextCommand::kPrepend)) {
      // memcached logs the item as it became: its whole value, flags and TTL.
      server_.store().Peek(req.key, time.Now(), [&](const storage::ItemView& item) {
        size = item.value.size();
        flags = item.flags;
        exptime = item.exptime;
      });
    }
    WatchStore(server_, client_fd_, req.key, o, CommandName(req.command), exptime, size, flags);
  }
  Reply(out, protocol::OutcomeReply(o), req.noreply);
}

// -vv: memcached's "<fd line" for each command line...
void TextSession::LogRequestLine(std::string_view input) const {
  std::string_view line = input.substr(0, input.find('\n'));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::fprintf(stderr, "<%d %.*s\n", client_fd_, static_cast<int>(line.size()), line.data());
}

// ...and ">fd reply" for each reply line ("sending key k" for a value, whose data is skipped).
void TextSession::LogReplies(std::string_view replies) const {
  while (!replies.empty()) {
    const size_t nl = replies.find("\r\n");
    const std::string_view line = replies.substr(0, nl);
    replies.remove_prefix(nl == std::string_view::npos ? replies.size() : nl + 2);
    if (line.starts_with("VALUE ")) {
      std::string_view rest = line.substr(6);
      const std::string_view key = protocol::NextKey(&rest);
      protocol::NextKey(&rest);  // flags
      uint64_t bytes = 0;
      common::ParseU64(protocol::NextKey(&rest), &bytes);
      replies.remove_prefix(std::min<size_t>(replies.size(), bytes + 2));
      std::fprintf(stderr, ">%d sending key %.*s\n", client_fd_, static_cast<int>(key.size()),
                   key.data());
    } else {
      std::fprintf(stderr, ">%d %.*s\n", client_fd_, static_cast<int>(line.size()), line.data());
    }
  }
}

// -C: items have no CAS to compare, so memcached answers EXISTS for any item (and NOT_FOUND
// without one).
Outcome TextSession::CasWithoutCas(std::string_view key) {
  const storage::ReadStatus r = server_.store().Peek(key, server_.time().Now(), [](const auto&) {});
  return r == storage::ReadStatus::kHit ? Outcome::kExists : Outcome::kNotFound;
}

void TextSession::ExecuteArith(const TextRequest& req, ByteBuffer& out) {
  const bool incr = req.command == TextCommand::kIncr;
  WatchLookup(server_, client_fd_, req.key);
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

}  // namespace cachet::server
