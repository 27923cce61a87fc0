// Operator commands' arguments: typed fields, and memcached's reply for each bad argument.
#include "protocol/operator_parser.h"

#include <gtest/gtest.h>

#include <string>

#include "protocol/text_parser.h"
#include "protocol/text_reply.h"

namespace cachet::protocol {
namespace {

// `line` must outlive the request (its views point into it).
TextRequest Parse(std::string_view line) {
  TextRequest req;
  ParseCommandLine(line, &req);
  EXPECT_EQ(req.error, TextError::kNone) << line;
  return req;
}

TEST(OperatorArgs, StatsGroups) {
  EXPECT_EQ(Parse("stats").op.stats.group, StatsGroup::kGeneral);
  EXPECT_EQ(Parse("stats  reset").op.stats.group, StatsGroup::kReset);
  const TextRequest named = Parse("stats items extra");
  EXPECT_EQ(named.op.stats.group, StatsGroup::kNamed);
  EXPECT_EQ(named.op.stats.name, "items");
  EXPECT_TRUE(named.op.error.empty());
  EXPECT_EQ(Parse("stats detail dump").op.stats.detail, DetailMode::kDump);
  EXPECT_EQ(Parse("stats detail").op.error, kDetailUsage);
  EXPECT_EQ(Parse("stats sizes_disable").op.stats.group, StatsGroup::kSizesDisable);
}

TEST(OperatorArgs, CacheDump) {
  const TextRequest ok = Parse("stats cachedump 3 10");
  EXPECT_EQ(ok.op.stats.group, StatsGroup::kCacheDump);
  EXPECT_EQ(ok.op.stats.class_id, 3u);
  EXPECT_EQ(ok.op.stats.limit, 10u);
  EXPECT_TRUE(ok.op.error.empty());
  EXPECT_EQ(Parse("stats cachedump 3").op.error, kBadCommandLine);
  EXPECT_EQ(Parse("stats cachedump x 1").op.error, kBadFormat);
  EXPECT_EQ(Parse("stats cachedump 64 0").op.error, kIllegalSlabId);
  EXPECT_TRUE(Parse("stats cachedump 63 0").op.error.empty());
}

TEST(OperatorArgs, LruCrawler) {
  const TextRequest list = Parse("lru_crawler metadump 1,5,63");
  EXPECT_EQ(list.op.crawler.command, CrawlerCommand::kMetadump);
  EXPECT_FALSE(list.op.crawler.all_classes);
  EXPECT_EQ(list.op.crawler.classes.count(), 3u);
  EXPECT_TRUE(list.op.crawler.classes.test(63));
  EXPECT_TRUE(Parse("lru_crawler crawl hash").op.crawler.all_classes);
  EXPECT_EQ(Parse("lru_crawler crawl 0").op.error, kBadClass);
  EXPECT_EQ(Parse("lru_crawler crawl 1,,2").op.error, kBadClass);
  EXPECT_EQ(Parse("lru_crawler sleep 1000001").op.error, kCrawlerSleepTooLong);
  EXPECT_EQ(Parse("lru_crawler tocrawl 7").op.crawler.value, 7u);
  EXPECT_EQ(Parse("lru_crawler tocrawl -1").op.error, kBadFormat);
  // Wrong shapes are ERROR and name no subcommand (memcached checks them before anything).
  for (const char* line : {"lru_crawler", "lru_crawler crawl", "lru_crawler enable now",
                           "lru_crawler crawl 1 2", "lru_crawler fly 1"}) {
    EXPECT_EQ(Parse(line).op.crawler.command, CrawlerCommand::kInvalid) << line;
    EXPECT_EQ(Parse(line).op.error, kError) << line;
  }
}

TEST(OperatorArgs, CacheMemlimitShutdownWatch) {
  const TextRequest quiet = Parse("cache_memlimit 100 noreply");
  EXPECT_EQ(quiet.op.megabytes, 100u);
  EXPECT_TRUE(quiet.noreply);
  EXPECT_EQ(Parse("cache_memlimit 7").op.error, kMemlimitTooSmall);
  EXPECT_EQ(Parse("cache_memlimit 1000000001").op.error, kMemlimitNotBytes);
  const TextRequest extra = Parse("cache_memlimit 100 noreply more");
  EXPECT_EQ(extra.op.error, kError);
  EXPECT_FALSE(extra.noreply);  // answered whatever the third token says

  EXPECT_TRUE(Parse("shutdown graceful").op.graceful);
  EXPECT_EQ(Parse("shutdown now").op.error, kBadShutdownMode);
  EXPECT_EQ(Parse("shutdown graceful x").op.error, kBadShutdownMode);

  EXPECT_EQ(Parse("watch").op.watch_kinds, kWatchFetchers);
  EXPECT_EQ(Parse("watch mutations evictions").op.watch_kinds, kWatchMutations | kWatchEvictions);
  EXPECT_EQ(Parse("watch fetchers nonsense").op.error, kError);
  // More kinds than the tokenizer splits are all read.
  std::string many = "watch";
  for (int i = 0; i < 30; ++i) many += " connevents";
  EXPECT_EQ(Parse(many).op.watch_kinds, kWatchConnEvents);
}

TEST(OperatorArgs, Slabs) {
  const TextRequest automove = Parse("slabs automove 2 noreply");
  EXPECT_EQ(automove.op.slabs.command, SlabsCommand::kAutomove);
  EXPECT_EQ(automove.op.slabs.level, 2u);
  EXPECT_TRUE(automove.noreply);
  EXPECT_EQ(Parse("slabs automove 3").op.error, kError);
  EXPECT_EQ(Parse("slabs automove x").op.error, kBadFormat);
  EXPECT_EQ(Parse("slabs automove ratio 0.5").op.slabs.ratio, 0.5);
  EXPECT_EQ(Parse("slabs automove ratio x").op.error, kError);
  const TextRequest reassign = Parse("slabs reassign -1 4294967298");
  EXPECT_EQ(reassign.op.slabs.command, SlabsCommand::kReassign);
  EXPECT_EQ(reassign.op.slabs.src, -1);
  EXPECT_EQ(reassign.op.slabs.dst, 2);  // safe_strtol's truncation to 32 bits
  EXPECT_EQ(Parse("slabs reassign 1 b").op.error, kBadFormat);
  for (const char* line :
       {"slabs", "slabs automove", "slabs reassign 1", "slabs reassign 1 2 3", "slabs foo 1 2"}) {
    EXPECT_EQ(Parse(line).op.slabs.command, SlabsCommand::kInvalid) << line;
    EXPECT_EQ(Parse(line).op.error, kError) << line;
  }
}

TEST(OperatorArgs, RefreshCerts) {
  EXPECT_EQ(Parse("refresh_certs").command, TextCommand::kRefreshCerts);
  EXPECT_FALSE(Parse("refresh_certs").noreply);
  EXPECT_TRUE(Parse("refresh_certs noreply").noreply);
  // Other arguments are ignored; noreply counts as the last token only, as in memcached.
  EXPECT_TRUE(Parse("refresh_certs a b noreply").noreply);
  EXPECT_FALSE(Parse("refresh_certs noreply x").noreply);
  EXPECT_TRUE(Parse("refresh_certs a b c").op.error.empty());
}

TEST(OperatorArgs, SnapshotTakesNoArguments) {
  EXPECT_EQ(Parse("snapshot").command, TextCommand::kSnapshot);
  EXPECT_TRUE(Parse("snapshot").op.error.empty());
  EXPECT_EQ(Parse("snapshot now").op.error, kBadFormat);
}

}  // namespace
}  // namespace cachet::protocol
