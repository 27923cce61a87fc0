#include "protocol/operator_parser.h"

#include <cstdint>

#include "common/numbers.h"
#include "protocol/text_reply.h"

namespace cachet::protocol {
namespace {

// The n-th token after the command, or empty.
std::string_view Arg(const Tokens& tk, size_t n) {
  return n + 1 < tk.count ? tk.t[n] : std::string_view();
}

bool ParseU32(std::string_view token, uint32_t* out) {
  uint64_t v = 0;
  if (!common::ParseUnsignedMax(token, UINT32_MAX, &v)) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

void ParseStats(const Tokens& tk, OperatorArgs* op) {
  StatsArgs& s = op->stats;
  const std::string_view group = Arg(tk, 1);
  if (group.empty()) {
    s.group = StatsGroup::kGeneral;
  } else if (group == "reset") {
    s.group = StatsGroup::kReset;
  } else if (group == "detail") {
    s.group = StatsGroup::kDetail;
    const std::string_view mode = Arg(tk, 2);
    if (mode == "on") {
      s.detail = DetailMode::kOn;
    } else if (mode == "off") {
      s.detail = DetailMode::kOff;
    } else if (mode == "dump") {
      s.detail = DetailMode::kDump;
    } else {
      op->error = kDetailUsage;
    }
  } else if (group == "cachedump") {
    s.group = StatsGroup::kCacheDump;
    if (Arg(tk, 3).empty()) {
      op->error = kBadCommandLine;
    } else if (!ParseU32(Arg(tk, 2), &s.class_id) || !ParseU32(Arg(tk, 3), &s.limit)) {
      op->error = kBadFormat;
    } else if (s.class_id > kMaxSlabClassId) {
      op->error = kIllegalSlabId;
    }
  } else if (group == "sizes_enable") {
    s.group = StatsGroup::kSizesEnable;
  } else if (group == "sizes_disable") {
    s.group = StatsGroup::kSizesDisable;
  } else {
    s.group = StatsGroup::kNamed;  // extra tokens after a group are ignored, as in memcached
    s.name = group;
  }
}

// `all`, `hash` or a comma-separated list of ids; memcached accepts any id it could have
// (1-63), used or not.
bool ParseClassList(std::string_view arg, CrawlerArgs* c) {
  if (arg == "all" || arg == "hash") {
    c->all_classes = true;
    return true;
  }
  while (!arg.empty()) {
    const size_t comma = arg.find(',');
    uint32_t id = 0;
    if (!ParseU32(arg.substr(0, comma), &id) || id < 1 || id > kMaxSlabClassId) return false;
    c->classes.set(id);
    arg = comma == std::string_view::npos ? std::string_view() : arg.substr(comma + 1);
  }
  return c->classes.any();
}

void ParseLruCrawler(const Tokens& tk, OperatorArgs* op) {
  CrawlerArgs& c = op->crawler;
  c.command = CrawlerCommand::kInvalid;
  const std::string_view sub = Arg(tk, 1);
  const std::string_view arg = Arg(tk, 2);
  if (sub.empty() || !Arg(tk, 3).empty()) {
    op->error = kError;
  } else if (arg.empty()) {
    if (sub == "enable") {
      c.command = CrawlerCommand::kEnable;
    } else if (sub == "disable") {
      c.command = CrawlerCommand::kDisable;
    } else {
      op->error = kError;
    }
  } else if (sub == "crawl" || sub == "metadump") {
    c.command = sub == "crawl" ? CrawlerCommand::kCrawl : CrawlerCommand::kMetadump;
    if (!ParseClassList(arg, &c)) op->error = kBadClass;
  } else if (sub == "tocrawl" || sub == "sleep") {
    c.command = sub == "sleep" ? CrawlerCommand::kSleep : CrawlerCommand::kTocrawl;
    if (!ParseU32(arg, &c.value)) {
      op->error = kBadFormat;
    } else if (c.command == CrawlerCommand::kSleep && c.value > 1000000) {
      op->error = kCrawlerSleepTooLong;
    }
  } else {
    op->error = kError;
  }
}

// memcached dispatches `slabs reassign` only with exactly two arguments and `slabs automove`
// with at least one; anything else is ERROR. Its automove level goes through safe_strtoul and
// the class ids through safe_strtol, both of which truncate a 64-bit long to 32 bits.
void ParseSlabs(const Tokens& tk, TextRequest* req) {
  SlabsArgs& s = req->op.slabs;
  s.command = SlabsCommand::kInvalid;
  const std::string_view sub = Arg(tk, 1);
  if (sub == "reassign" && tk.count == 5) {
    int64_t src = 0;
    int64_t dst = 0;
    if (!common::ParseI64(Arg(tk, 2), &src) || !common::ParseI64(Arg(tk, 3), &dst)) {
      req->op.error = kBadFormat;
      return;
    }
    s.command = SlabsCommand::kReassign;
    s.src = static_cast<int32_t>(src);
    s.dst = static_cast<int32_t>(dst);
  } else if (sub == "automove" && tk.count >= 4) {
    req->noreply = tk.t[tk.count - 2] == "noreply";
    if (Arg(tk, 2) == "ratio") {
      double ratio = 0;
      if (tk.count < 5 || !common::ParseDouble(Arg(tk, 3), &ratio)) {
        req->op.error = kError;
        return;
      }
      s.command = SlabsCommand::kAutomoveRatio;
      s.ratio = ratio;
      return;
    }
    uint64_t level = 0;
    if (!common::ParseU64(Arg(tk, 2), &level)) {
      req->op.error = kBadFormat;
      return;
    }
    s.level = static_cast<uint32_t>(level);
    if (s.level > 2) {
      req->op.error = kError;
      return;
    }
    s.command = SlabsCommand::kAutomove;
  } else {
    req->op.error = kError;
  }
}

void ParseCacheMemlimit(const Tokens& tk, TextRequest* req) {
  OperatorArgs& op = req->op;
  const std::string_view mb = Arg(tk, 1);
  if (mb.empty() || !Arg(tk, 3).empty()) {
    op.error = kError;  // answered even with noreply
    return;
  }
  // memcached reads a third token only as noreply (anything else is ignored).
  req->noreply = Arg(tk, 2) == "noreply";
  if (!ParseU32(mb, &op.megabytes)) {
    op.error = kError;
  } else if (op.megabytes < 8) {
    op.error = kMemlimitTooSmall;
  } else if (op.megabytes > 1000000000) {
    op.error = kMemlimitNotBytes;
  }
}

void ParseShutdown(const Tokens& tk, OperatorArgs* op) {
  const std::string_view mode = Arg(tk, 1);
  if (!Arg(tk, 2).empty() || (!mode.empty() && mode != "graceful")) {
    op->error = kBadShutdownMode;
  }
  op->graceful = mode == "graceful";
}

// `snapshot` takes no arguments.
void ParseSnapshot(const Tokens& tk, OperatorArgs* op) {
  if (!Arg(tk, 1).empty()) op->error = kBadFormat;
}

// Reads the whole rest of the line: a watch may name more kinds than the tokenizer splits.
void ParseWatch(const Tokens& tk, OperatorArgs* op) {
  std::string_view args = tk.rest;
  uint32_t kinds = 0;
  for (std::string_view t = NextKey(&args); !t.empty(); t = NextKey(&args)) {
    if (t == "fetchers") {
      kinds |= kWatchFetchers;
    } else if (t == "mutations") {
      kinds |= kWatchMutations;
    } else if (t == "evictions") {
      kinds |= kWatchEvictions;
    } else if (t == "connevents") {
      kinds |= kWatchConnEvents;
    } else if (t == "rawcmds" || t == "sysevents" || t == "proxyreqs" || t == "proxyevents" ||
               t == "proxyuser") {
      kinds |= kWatchOther;
    } else {
      op->error = kError;
      return;
    }
  }
  op->watch_kinds = kinds == 0 ? kWatchFetchers : kinds;
}

}  // namespace

void ParseOperatorArgs(const Tokens& tk, TextRequest* req) {
  req->op = OperatorArgs{};
  switch (req->command) {
    case TextCommand::kStats:
      ParseStats(tk, &req->op);
      break;
    case TextCommand::kLruCrawler:
      ParseLruCrawler(tk, &req->op);
      break;
    case TextCommand::kCacheMemlimit:
      ParseCacheMemlimit(tk, req);
      break;
    case TextCommand::kSlabs:
      ParseSlabs(tk, req);
      break;
    case TextCommand::kShutdown:
      ParseShutdown(tk, &req->op);
      break;
    case TextCommand::kWatch:
      ParseWatch(tk, &req->op);
      break;
    case TextCommand::kSnapshot:
      ParseSnapshot(tk, &req->op);
      break;
    default:
      break;
  }
}

}  // namespace cachet::protocol
