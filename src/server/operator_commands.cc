#include "server/operator_commands.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>

#include "protocol/text_reply.h"
#include "server/general_stats.h"
#include "server/stats_groups.h"

namespace cachet::server {

using common::ByteBuffer;
using protocol::CrawlerCommand;
using protocol::StatsGroup;
using protocol::TextCommand;
using protocol::TextRequest;

CommandStep OperatorCommands::Execute(const TextRequest& req, bool first, ByteBuffer& out) {
  switch (req.command) {
    case TextCommand::kStats:
      return ExecuteStats(req, out);
    case TextCommand::kLruCrawler:
      return ExecuteLruCrawler(req, first, out);
    case TextCommand::kCacheMemlimit:
      ExecuteCacheMemlimit(req, out);
      return CommandStep::kDone;
    case TextCommand::kShutdown:
      return ExecuteShutdown(req, out);
    case TextCommand::kWatch:
      return ExecuteWatch(req, first, out);
    case TextCommand::kRefreshCerts:
      ExecuteRefreshCerts(req, out);
      return CommandStep::kDone;
    case TextCommand::kSnapshot:
      return ExecuteSnapshot(req, out);
    case TextCommand::kVerbosity:
      server_.set_verbosity(static_cast<int>(std::min<int64_t>(req.number, 2)));
      if (!req.noreply) out.Append(protocol::kOk);
      return CommandStep::kDone;
    case TextCommand::kDebugTime:
      if (!server_.settings().debugtime) {
        out.Append(protocol::kError);  // what a release memcached answers
        return CommandStep::kDone;
      }
      server_.AdvanceClock(req.number);
      server_.RunPendingFlush(server_.time().Now());
      out.Append(protocol::kOk);
      return CommandStep::kDone;
    case TextCommand::kSlabs:
      ExecuteSlabs(req, out);
      return CommandStep::kDone;
    default:  // lru: cachet has no LRUs to tune
      out.Append(protocol::kError);
      return CommandStep::kDone;
  }
}

// memcached's answers for a cache whose classes hold no spare page: cachet packs every size into
// the same segments, so there is never a page to move, but the class ids are memcached's.
void OperatorCommands::ExecuteSlabs(const TextRequest& req, ByteBuffer& out) {
  const protocol::SlabsArgs& args = req.op.slabs;
  std::string_view reply = req.op.error;
  if (reply.empty()) {
    switch (args.command) {
      case protocol::SlabsCommand::kAutomove:
        server_.slabs().automove.store(static_cast<int>(args.level), std::memory_order_relaxed);
        reply = protocol::kOk;
        break;
      case protocol::SlabsCommand::kAutomoveRatio:
        server_.slabs().automove_ratio.store(args.ratio, std::memory_order_relaxed);
        reply = protocol::kOk;
        break;
      case protocol::SlabsCommand::kReassign: {
        // memcached's order: same first, then the range (-1 "pick any" finds nothing to take,
        // 0 is the global page pool), then the source's spare pages.
        const int largest = server_.store().size_classes().count();
        const bool src_ok = args.src >= 0 && args.src <= largest;
        const bool dst_ok = args.dst >= 0 && args.dst <= largest;
        if (args.src == args.dst) {
          reply = protocol::kReassignSame;
        } else if (!src_ok || !dst_ok) {
          reply = protocol::kReassignBadClass;
        } else {
          reply = protocol::kReassignNoSpare;
        }
        break;
      }
      case protocol::SlabsCommand::kInvalid:
        reply = protocol::kError;
        break;
    }
  }
  if (!req.noreply) out.Append(reply);
}

// A listing that paused below the output high-water mark did a slice of work: the session
// yields, so the worker serves its other connections before the next slice.
CommandStep OperatorCommands::ContinueListing(ByteBuffer& out) {
  return listing_.Continue(server_, out) ? CommandStep::kDone : CommandStep::kPaused;
}

CommandStep OperatorCommands::ExecuteStats(const TextRequest& req, ByteBuffer& out) {
  if (listing_.active()) return ContinueListing(out);
  const protocol::StatsArgs& args = req.op.stats;
  auto stat_line = [&](std::string_view name, std::string_view value) {
    out.Append("STAT ");
    out.Append(name);
    out.Append(' ');
    out.Append(value);
    out.Append("\r\n");
  };
  if (args.group == StatsGroup::kCacheDump && (!server_.settings().dump_enabled || udp_)) {
    out.Append(protocol::kCacheDumpNotAllowed);
    return CommandStep::kDone;
  }
  if (!req.op.error.empty()) {
    out.Append(req.op.error);
    return CommandStep::kDone;
  }
  switch (args.group) {
    case StatsGroup::kGeneral:
      VisitGeneralStats(server_, stat_line);
      out.Append(protocol::kEnd);
      break;
    case StatsGroup::kReset:
      server_.ResetStats();
      out.Append(protocol::kReset);
      break;
    case StatsGroup::kDetail:
      if (args.detail == protocol::DetailMode::kDump) {
        out.Append(server_.prefix_stats().Dump());
      } else {
        server_.prefix_stats().set_enabled(args.detail == protocol::DetailMode::kOn);
        out.Append(protocol::kOk);
      }
      break;
    case StatsGroup::kCacheDump:
      listing_.StartCacheDump(static_cast<int>(args.class_id), args.limit);
      return ContinueListing(out);
    case StatsGroup::kSizesEnable:
    case StatsGroup::kSizesDisable: {
      // memcached's quirk: the one STAT line and no END.
      const bool on = args.group == StatsGroup::kSizesEnable;
      server_.set_sizes_enabled(on);
      out.Append(on ? protocol::kSizesEnabled : protocol::kSizesDisabled);
      break;
    }
    case StatsGroup::kNamed:
      out.Append(VisitStatsGroup(server_, args.name, stat_line) ? protocol::kEnd
                                                                : protocol::kError);
      break;
  }
  return CommandStep::kDone;
}

CommandStep OperatorCommands::ExecuteLruCrawler(const TextRequest& req, bool first,
                                                ByteBuffer& out) {
  if (listing_.active()) return ContinueListing(out);
  const protocol::CrawlerArgs& args = req.op.crawler;
  CrawlerSettings& crawler = server_.crawler();
  const bool crawl = args.command == CrawlerCommand::kCrawl;
  const bool metadump = args.command == CrawlerCommand::kMetadump;
  if ((crawl || metadump) && !crawler.enabled.load()) {
    out.Append(protocol::kCrawlerDisabled);
    return CommandStep::kDone;
  }
  if (metadump && (!server_.settings().dump_enabled || udp_)) {
    out.Append(protocol::kMetadumpNotAllowed);
    return CommandStep::kDone;
  }
  if (!req.op.error.empty()) {
    out.Append(req.op.error);
    return CommandStep::kDone;
  }
  switch (args.command) {
    case CrawlerCommand::kEnable:
      // memcached refuses to start a crawler that already runs.
      if (crawler.enabled.exchange(true)) {
        out.Append(protocol::kCrawlerAlreadyRunning);
      } else {
        server_.ResumeSweeps();  // prefix rules left while it was off
        out.Append(protocol::kOk);
      }
      return CommandStep::kDone;
    case CrawlerCommand::kDisable:
      crawler.enabled.store(false);
      out.Append(protocol::kOk);
      return CommandStep::kDone;
    case CrawlerCommand::kCrawl:
      out.Append(server_.RequestCrawl(args.all_classes, args.classes) ? protocol::kOk
                                                                      : protocol::kCrawlerBusy);
      return CommandStep::kDone;
    case CrawlerCommand::kSleep:
    case CrawlerCommand::kTocrawl:
      (args.command == CrawlerCommand::kSleep ? crawler.sleep_us : crawler.tocrawl)
          .store(args.value);
      out.Append(protocol::kOk);
      return CommandStep::kDone;
    case CrawlerCommand::kMetadump:
      break;
    case CrawlerCommand::kInvalid:  // its error was sent above
      return CommandStep::kDone;
  }
  if (!first) {
    out.Append(protocol::kMetadumpNotFirst);
    return CommandStep::kDone;
  }
  KeyListing::ClassSet classes = args.classes;
  if (args.all_classes) {
    for (int i = 1; i <= server_.store().size_classes().count(); ++i) {
      classes.set(static_cast<size_t>(i));
    }
  }
  listing_.StartMetaDump(classes);
  return ContinueListing(out);
}

void OperatorCommands::ExecuteCacheMemlimit(const TextRequest& req, ByteBuffer& out) {
  std::string_view reply = req.op.error;
  if (reply.empty()) {
    // The arena is mapped once, at the startup -m: a limit above it cannot be honoured.
    if (!server_.store().SetMemoryLimit(static_cast<size_t>(req.op.megabytes) << 20)) {
      reply = protocol::kMemlimitAdjustFailed;
    } else {
      if (server_.verbosity() > 0)
        std::fprintf(stderr, "maxbytes adjusted to %um\n", req.op.megabytes);
      reply = protocol::kOk;
    }
  }
  if (!req.noreply) out.Append(reply);
}

CommandStep OperatorCommands::ExecuteShutdown(const TextRequest& req, ByteBuffer& out) {
  if (!server_.settings().shutdown_enabled) {
    out.Append(protocol::kShutdownNotEnabled);
    return CommandStep::kDone;
  }
  if (!req.op.error.empty()) {
    out.Append(req.op.error);
    return CommandStep::kDone;
  }
  // Like memcached: the asking connection closes without a reply and the process stops as on
  // SIGINT (SIGUSR1 for graceful).
  server_.RequestShutdown(req.op.graceful);
  return CommandStep::kClose;
}

void OperatorCommands::ExecuteRefreshCerts(const TextRequest& req, ByteBuffer& out) {
  std::string error;
  if (server_.RefreshCerts(&error)) {
    if (!req.noreply) out.Append(protocol::kOk);
    return;
  }
  // Like memcached, an error ("Error TLS not enabled" without -Z) is sent even with noreply.
  out.Append(error);
  out.Append("\r\n");
}

CommandStep OperatorCommands::ExecuteWatch(const TextRequest& req, bool first, ByteBuffer& out) {
  if (!server_.settings().watch_enabled || udp_) {
    out.Append(protocol::kWatchNotAllowed);
    return CommandStep::kDone;
  }
  if (!req.op.error.empty()) {
    out.Append(req.op.error);
    return CommandStep::kDone;
  }
  if (!first) {
    out.Append(protocol::kWatchNotFirst);
    return CommandStep::kDone;
  }
  // Each watcher costs the workers a copy of every line it wants: at most memcached's 20.
  // (Counted when the socket is handed over, so two racing requests can make it 21.)
  if (server_.watch().watchers() >= kMaxWatchers) {
    out.Append(protocol::kWatcherTooMany);
    return CommandStep::kDone;
  }
  out.Append(protocol::kOk);
  watch_kinds_ = req.op.watch_kinds;
  return CommandStep::kWatch;
}

// An online snapshot runs on the memory file's thread: the connection waits for it (its worker
// serves the others meanwhile) and is woken when it is written.
CommandStep OperatorCommands::ExecuteSnapshot(const TextRequest& req, ByteBuffer& out) {
  if (!server_.settings().shutdown_enabled) {
    out.Append(protocol::kSnapshotNotEnabled);
    return CommandStep::kDone;
  }
  if (!req.op.error.empty()) {
    out.Append(req.op.error);
    return CommandStep::kDone;
  }
  MemoryFile* file = server_.memory_file();
  if (file == nullptr) {
    out.Append(protocol::kSnapshotNoFile);
    return CommandStep::kDone;
  }
  if (udp_ || worker_.waker == nullptr) {  // nothing would drive the reply later
    out.Append(protocol::kSnapshotOverUdp);
    return CommandStep::kDone;
  }
  if (snapshot_ticket_ == 0) snapshot_ticket_ = file->Request(worker_.waker);
  const std::optional<bool> written = file->Result(snapshot_ticket_);
  if (!written) return CommandStep::kWaiting;
  snapshot_ticket_ = 0;
  out.Append(*written ? protocol::kOk : protocol::kSnapshotFailed);
  return CommandStep::kDone;
}

}  // namespace cachet::server
