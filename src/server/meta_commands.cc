#include "server/meta_commands.h"

#include <cstdio>
#include <functional>
#include <optional>

#include "common/numbers.h"
#include "protocol/meta_parser.h"
#include "protocol/meta_reply.h"
#include "protocol/text_reply.h"
#include "server/watch_events.h"

namespace cachet::server {

using common::ByteBuffer;
using common::Outcome;
using protocol::TextCommand;
using protocol::TextRequest;

namespace {

void AppendU64(ByteBuffer& out, uint64_t v) {
  char buf[20];
  out.Append(std::string_view(buf, common::FormatU64(v, buf)));
}

}  // namespace

CommandStep MetaCommands::Execute(const TextRequest& req, ByteBuffer& out) {
  if (req.command == TextCommand::kMetaPrefix) {
    if (waiting_rule_ == 0) worker_.stats.cmd_meta.Add();  // once, not at every wake-up
    return Prefix(req, out);
  }
  worker_.stats.cmd_meta.Add();
  switch (req.command) {
    case TextCommand::kMetaGet:
      Get(req, out);
      break;
    case TextCommand::kMetaSet:
      Set(req, out);
      break;
    case TextCommand::kMetaDelete:
      Delete(req, out);
      break;
    case TextCommand::kMetaArith:
      Arith(req, out);
      break;
    case TextCommand::kMetaNoop:
      out.Append(protocol::kMetaNoop);
      break;
    case TextCommand::kMetaDebug:
      Debug(req, out);
      break;
    default:
      break;
  }
  return CommandStep::kDone;
}

void MetaCommands::Get(const TextRequest& req, ByteBuffer& out) {
  WatchLookup(server_, client_fd_, req.key);  // `watch fetchers` (a no-op unless someone watches)
  const protocol::MetaFlags& m = req.meta;
  const ServerTime& time = server_.time();
  const uint32_t now = time.Now();
  storage::MetaGetOptions opts;
  opts.no_bump = m.no_bump;
  opts.touch = m.has_ttl;
  opts.exptime = time.ToServerTime(m.ttl);
  opts.vivify = m.has_vivify;
  opts.vivify_exptime = time.ToServerTime(m.vivify_ttl);
  opts.recache = m.has_recache;
  opts.recache_before = time.ToServerTime(m.recache_ttl);
  ThreadStats& stats = worker_.stats;
  // memcached checks the opaque's length while replying, after the read's effects (a win is
  // then not recorded).
  const bool opaque_too_long = m.opaque.size() > protocol::kMaxOpaqueToken;
  opts.claim_token = !opaque_too_long;
  if (opaque_too_long) {
    // memcached applies T and N while walking the flags and stops at the long opaque.
    bool before_opaque = true;
    bool touch = false, vivify_ttl = false;
    for (size_t i = 0; i < m.count; ++i) {
      const char c = m.tokens[i][0];
      if (c == 'O') before_opaque = false;
      if (c == 'T') touch = before_opaque;
      if (c == 'N') vivify_ttl = before_opaque;
    }
    opts.touch = opts.touch && touch;
    if (!vivify_ttl) opts.vivify_exptime = 0;
  }
  const storage::MetaGetResult result = server_.store().MetaGet(
      worker_.writer, req.key, now, opts, [&](const storage::ItemView& item) {
        if (opaque_too_long) return;
        // No room in the buffer budget: the reply is not built and the connection closes (the
        // flags' part of the header is at most ~1 KiB).
        if (charge_ != nullptr &&
            !charge_->AffordAppend(out, 1024 + item.key.size() * 2 + item.value.size())) {
          return;
        }
        if (m.value) {
          out.Append("VA ");
          AppendU64(out, item.value.size());
        } else {
          out.Append("HD");
        }
        // T (and N on a vivified item) take effect at their place among the flags.
        uint32_t shown_exptime = item.created ? 0 : item.exptime;
        for (size_t i = 0; i < m.count; ++i) {
          const std::string_view t = m.tokens[i];
          switch (t[0]) {
            case 'T':
              shown_exptime = opts.exptime;
              break;
            case 'N':
              if (item.created) shown_exptime = opts.vivify_exptime;
              break;
            case 's':
              protocol::AppendMetaFlag(out, 's', item.value.size());
              break;
            case 't':
              protocol::AppendMetaTtl(out, shown_exptime, now);
              break;
            case 'c':
              protocol::AppendMetaFlag(out, 'c', server_.settings().cas_enabled ? item.cas : 0);
              break;
            case 'f':
              protocol::AppendMetaFlag(out, 'f', item.flags);
              break;
            case 'l':
              protocol::AppendMetaFlag(out, 'l', now > item.written_at ? now - item.written_at : 0);
              break;
            case 'h':
              out.Append(item.fetched_before ? " h1" : " h0");
              break;
            case 'O':
              out.Append(' ');
              out.Append(t);
              break;
            case 'k':
              protocol::AppendMetaKey(out, req.key, m.base64);
              break;
            default:
              break;
          }
        }
        if (item.token_sent) out.Append(" Z");
        if (item.stale) out.Append(" X");
        if (item.won) out.Append(" W");
        out.Append("\r\n");
        if (m.value) {
          out.Append(item.value);
          out.Append("\r\n");
        }
      });
  if (opaque_too_long) {
    out.Append(protocol::kOpaqueTooLong);
    return;
  }
  if (result.status == storage::ReadStatus::kHit || result.created) {
    stats.cmd_get.Add();
    stats.get_hits.Add();
    if (m.has_ttl) {
      stats.cmd_touch.Add();
      stats.touch_hits.Add();
    }
    return;
  }
  stats.cmd_get.Add();
  stats.get_misses.Add();
  if (result.status == storage::ReadStatus::kExpired) stats.get_expired.Add();
  if (m.quiet) return;
  out.Append("EN");
  protocol::AppendMetaEchoFlags(out, req.meta, req.key);
  out.Append("\r\n");
}

void MetaCommands::Set(const TextRequest& req, ByteBuffer& out) {
  const protocol::MetaFlags& m = req.meta;
  const ServerTime& time = server_.time();
  storage::StoreMode mode;
  switch (m.mode) {
    case 0:
    case 'S':
      mode = m.has_cas ? storage::StoreMode::kCas : storage::StoreMode::kSet;
      break;
    case 'E':
      mode = storage::StoreMode::kAdd;
      break;
    case 'A':
      mode = storage::StoreMode::kAppend;
      break;
    case 'P':
      mode = storage::StoreMode::kPrepend;
      break;
    case 'R':
      // A replace that compares a CAS is a compare-and-swap (the item must exist either way).
      mode = m.has_cas ? storage::StoreMode::kCas : storage::StoreMode::kReplace;
      break;
    default:
      out.Append(protocol::kBadMetaSetMode);
      return;
  }
  ThreadStats& stats = worker_.stats;
  stats.cmd_set.Add();
  WatchLookup(server_, client_fd_, req.key);
  uint64_t new_cas = 0;
  // -C: no item has a CAS to compare: a compare fails with EX (NF without an item).
  const bool no_cas_compare = mode == storage::StoreMode::kCas && !server_.settings().cas_enabled;
  const Outcome o =
      no_cas_compare ? (server_.store().Peek(req.key, time.Now(), [](const auto&) {}) ==
                                storage::ReadStatus::kHit
                            ? Outcome::kExists
                            : Outcome::kNotFound)
                     : server_.store().Put(worker_.writer, mode, req.key, req.data, m.client_flags,
                                           m.has_ttl ? time.ToServerTime(m.ttl) : 0,
                                           m.has_cas ? m.cas : 0, time.Now(), &new_cas,
                                           /*allow_stale=*/m.invalidate);
  if (mode == storage::StoreMode::kCas) {
    CountCas(stats, o);
  }
  if (server_.watch().Wants(protocol::kWatchMutations)) {
    // memcached logs every ms as a set.
    WatchStore(server_, client_fd_, req.key, o, "set", m.has_ttl ? time.ToServerTime(m.ttl) : 0,
               req.data.size(), m.client_flags);
  }
  if (o == Outcome::kNoMemory) stats.store_no_memory.Add();
  const protocol::MetaReply reply = protocol::MetaReplyFor(o, req.command);
  if (!reply.error_line.empty()) {
    out.Append(reply.error_line);
    return;
  }
  if (o == Outcome::kStored && m.quiet) return;
  out.Append(reply.code);
  for (size_t i = 0; i < m.count; ++i) {
    const std::string_view t = m.tokens[i];
    if (t[0] == 'O') {
      out.Append(' ');
      out.Append(t);
    } else if (t[0] == 'k') {
      protocol::AppendMetaKey(out, req.key, m.base64);
    } else if (t[0] == 'c') {
      protocol::AppendMetaFlag(
          out, 'c', o == Outcome::kStored && server_.settings().cas_enabled ? new_cas : 0);
    }
  }
  out.Append("\r\n");
}

void MetaCommands::Delete(const TextRequest& req, ByteBuffer& out) {
  WatchLookup(server_, client_fd_, req.key);
  const protocol::MetaFlags& m = req.meta;
  const ServerTime& time = server_.time();
  const uint64_t cas = m.has_cas ? m.cas : 0;
  if (m.has_cas && m.cas == 0) {
    // No item has CAS 0: the comparison fails if the item exists.
    const auto r =
        server_.store().MetaGet(worker_.writer, req.key, time.Now(),
                                storage::MetaGetOptions{.no_bump = true, .claim_token = false},
                                [](const storage::ItemView&) {});
    const Outcome o = r.status == storage::ReadStatus::kHit ? Outcome::kExists : Outcome::kNotFound;
    out.Append(protocol::MetaReplyFor(o, req.command).code);
    protocol::AppendMetaEchoFlags(out, req.meta, req.key);
    out.Append("\r\n");
    return;
  }
  const Outcome o = m.invalidate
                        ? server_.store().Invalidate(worker_.writer, req.key, cas, m.has_ttl,
                                                     time.ToServerTime(m.ttl), time.Now())
                        : server_.store().Delete(req.key, time.Now(), cas);
  ThreadStats& stats = worker_.stats;
  if (o == Outcome::kDeleted || o == Outcome::kStored) stats.delete_hits.Add();
  if (o == Outcome::kNotFound) stats.delete_misses.Add();
  const protocol::MetaReply reply = protocol::MetaReplyFor(o, req.command);
  if (!reply.error_line.empty()) {
    out.Append(reply.error_line);
    return;
  }
  if ((o == Outcome::kDeleted || o == Outcome::kStored) && m.quiet) return;
  out.Append(reply.code);
  protocol::AppendMetaEchoFlags(out, req.meta, req.key);
  out.Append("\r\n");
}

// mp: flush_prefix in the meta protocol, with its errors as flush_prefix's. With w the reply
// waits for the rule's sweep (the worker serves others meanwhile) and says what it took.
CommandStep MetaCommands::Prefix(const TextRequest& req, ByteBuffer& out) {
  std::optional<uint64_t> items;
  bool first = false;
  if (waiting_rule_ == 0) {
    if (!server_.settings().flush_enabled) {
      out.Append(protocol::kFlushPrefixNotAllowed);
      return CommandStep::kDone;
    }
    if (req.meta.wait && (udp_ || worker_.waker == nullptr)) {
      out.Append("CLIENT_ERROR mp w needs a stream connection\r\n");
      return CommandStep::kDone;
    }
    worker_.stats.cmd_flush_prefix.Add();
    // T, as md's, only with I: the TTL the stale items keep.
    const ServerTime& time = server_.time();
    std::optional<uint32_t> stale_exptime;
    if (req.meta.invalidate && req.meta.has_ttl) stale_exptime = time.ToServerTime(req.meta.ttl);
    const uint64_t rule = server_.FlushPrefix(req.key, req.meta.invalidate, stale_exptime);
    WatchFlushPrefix(server_, client_fd_, req.key, rule != 0);
    if (rule == 0) {
      out.Append(protocol::kTooManyPrefixRules);
      return CommandStep::kDone;
    }
    if (req.meta.wait) waiting_rule_ = rule;
    first = true;
  }
  if (waiting_rule_ != 0) {
    // The waker is registered once: the line runs again at every read while it waits.
    Waker* waker = worker_.waker;
    std::function<void()> wake;
    if (first) wake = [waker] { waker->Wake(); };
    items = server_.store().PrefixRuleResult(waiting_rule_, std::move(wake));
    if (!items) return CommandStep::kWaiting;
    waiting_rule_ = 0;
  }
  if (req.meta.quiet) return CommandStep::kDone;
  out.Append("HD");
  if (items) protocol::AppendMetaFlag(out, 'n', *items);
  protocol::AppendMetaEchoFlags(out, req.meta, req.key);
  out.Append("\r\n");
  return CommandStep::kDone;
}

void MetaCommands::Arith(const TextRequest& req, ByteBuffer& out) {
  WatchLookup(server_, client_fd_, req.key);
  const protocol::MetaFlags& m = req.meta;
  bool incr;
  switch (m.mode) {
    case 0:
    case 'I':
    case '+':
      incr = true;
      break;
    case 'D':
    case '-':
      incr = false;
      break;
    default:
      out.Append(protocol::kBadMetaArithMode);
      return;
  }
  const ServerTime& time = server_.time();
  const uint32_t now = time.Now();
  ThreadStats& stats = worker_.stats;
  uint64_t value = 0, cas = 0;
  bool created = false;
  // The TTL before this request, for a `t` that comes before T among the flags.
  uint32_t old_exptime = 0;
  server_.store().MetaGet(worker_.writer, req.key, now,
                          storage::MetaGetOptions{.no_bump = true, .claim_token = false},
                          [&](const storage::ItemView& item) { old_exptime = item.exptime; });
  Outcome o = server_.store().Arith(worker_.writer, req.key, incr, m.delta, now, &value,
                                    m.has_cas ? m.cas : 0, &cas);
  if (o == Outcome::kNotFound) {
    if (!m.has_vivify) (incr ? stats.incr_misses : stats.decr_misses).Add();
    if (m.has_vivify) {
      char digits[20];
      const std::string_view text(digits, common::FormatU64(m.initial, digits));
      o = server_.store().Put(worker_.writer, storage::StoreMode::kAdd, req.key, text, 0,
                              time.ToServerTime(m.vivify_ttl), 0, now, &cas);
      value = m.initial;
      created = o == Outcome::kStored;
      if (o != Outcome::kStored && o != Outcome::kNoMemory) o = Outcome::kNotStored;
    }
  } else if (o == Outcome::kStored) {
    (incr ? stats.incr_hits : stats.decr_hits).Add();
    if (m.has_ttl) server_.store().Touch(worker_.writer, req.key, time.ToServerTime(m.ttl), now);
  }
  if (m.opaque.size() > protocol::kMaxOpaqueToken) {  // checked after the update, as memcached
    out.Append(protocol::kOpaqueTooLong);
    return;
  }
  if (o != Outcome::kStored) {
    const protocol::MetaReply reply = protocol::MetaReplyFor(o, req.command);
    if (!reply.error_line.empty()) {
      out.Append(reply.error_line);
      return;
    }
    out.Append(reply.code);
    protocol::AppendMetaEchoFlags(out, req.meta, req.key);
    out.Append("\r\n");
    return;
  }
  // memcached's q hides the success of an update (value included), not an auto-create.
  if (m.quiet && !created) return;
  char digits[20];
  const std::string_view text(digits, common::FormatU64(value, digits));
  uint32_t shown_exptime = created ? 0 : old_exptime;
  if (m.value) {
    out.Append("VA ");
    AppendU64(out, text.size());
  } else {
    out.Append("HD");
  }
  for (size_t i = 0; i < m.count; ++i) {
    const std::string_view t = m.tokens[i];
    switch (t[0]) {
      case 'O':
        out.Append(' ');
        out.Append(t);
        break;
      case 'k':
        protocol::AppendMetaKey(out, req.key, m.base64);
        break;
      case 'c':
        protocol::AppendMetaFlag(out, 'c', server_.settings().cas_enabled ? cas : 0);
        break;
      case 'T':
        shown_exptime = time.ToServerTime(m.ttl);
        break;
      case 'N':
        if (created) shown_exptime = time.ToServerTime(m.vivify_ttl);
        break;
      case 't':
        protocol::AppendMetaTtl(out, shown_exptime, now);
        break;
      default:
        break;
    }
  }
  out.Append("\r\n");
  if (m.value) {
    out.Append(text);
    out.Append("\r\n");
  }
}

void MetaCommands::Debug(const TextRequest& req, ByteBuffer& out) {
  const uint32_t now = server_.time().Now();
  const storage::MetaGetResult r = server_.store().MetaGet(
      worker_.writer, req.key, now, storage::MetaGetOptions{.no_bump = true, .claim_token = false},
      [&](const storage::ItemView& item) {
        out.Append("ME ");
        protocol::AppendMetaKeyText(out, req.key, req.meta.base64);
        char line[160];
        // memcached's item size and slab class, by the rules `stats items` uses (-f, -n).
        const storage::Store& store = server_.store();
        const size_t size = store.size_rule().Size(item.key.size(), item.flags, item.value.size());
        const int n = std::snprintf(
            line, sizeof(line), " exp=%lld la=%u cas=%llu fetch=%s cls=%d size=%zu\r\n",
            // memcached prints current - exptime: negative while the item lives.
            item.exptime == 0 ? -1LL : static_cast<long long>(now) - item.exptime,
            now > item.written_at ? now - item.written_at : 0,
            static_cast<unsigned long long>(item.cas), item.fetched_before ? "yes" : "no",
            store.ClassOf(item.key.size(), item.flags, item.value.size()), size);
        out.Append(std::string_view(line, static_cast<size_t>(n)));
      });
  if (r.status != storage::ReadStatus::kHit) out.Append(protocol::kMetaMiss);
}

}  // namespace cachet::server
