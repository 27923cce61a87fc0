#pragma once
// The arguments of the operator commands (stats, lru_crawler, slabs, cache_memlimit, shutdown,
// watch),
// parsed by the text parser into typed fields. memcached checks its own state (a switch such as
// -X or -W, the crawler being on) before it complains about arguments, so a bad argument does
// not fail the parse: its reply is carried in `OperatorArgs::error` and the server sends it once
// its own checks passed.
#include <bitset>
#include <cstdint>
#include <string_view>

namespace cachet::protocol {

// memcached's slab class ids run from 1 to MAX_NUMBER_OF_SLAB_CLASSES - 1.
inline constexpr int kMaxSlabClassId = 63;
using SlabClassSet = std::bitset<kMaxSlabClassId + 1>;

// What `watch` asks for (bits).
enum WatchKind : uint32_t {
  kWatchFetchers = 1,
  kWatchMutations = 2,
  kWatchEvictions = 4,
  kWatchConnEvents = 8,
  kWatchOther = 16,  // rawcmds, sysevents, proxy*: accepted, nothing to report
};

enum class StatsGroup : uint8_t {
  kGeneral,       // `stats`
  kReset,         // `stats reset`
  kDetail,        // `stats detail on|off|dump`
  kCacheDump,     // `stats cachedump <class> <limit>`
  kSizesEnable,   // `stats sizes_enable`
  kSizesDisable,  // `stats sizes_disable`
  kNamed,         // any other group, by name (the server knows which exist)
};
enum class DetailMode : uint8_t { kOn, kOff, kDump };

struct StatsArgs {
  StatsGroup group;
  std::string_view name;  // kNamed
  DetailMode detail;      // kDetail
  uint32_t class_id;      // kCacheDump: 0..63
  uint32_t limit;         // kCacheDump: 0 = all
};

enum class CrawlerCommand : uint8_t {
  kInvalid,  // error is ERROR
  kEnable,
  kDisable,
  kCrawl,
  kMetadump,
  kSleep,
  kTocrawl,
};

struct CrawlerArgs {
  CrawlerCommand command;
  uint32_t value;        // kSleep (microseconds, at most 1000000), kTocrawl
  bool all_classes;      // kCrawl, kMetadump: `all` or `hash`
  SlabClassSet classes;  // kCrawl, kMetadump: the ids listed (when not all_classes)
};

// `slabs automove <0|1|2>`, `slabs automove ratio <r>`, `slabs reassign <src> <dst>`.
enum class SlabsCommand : uint8_t {
  kInvalid,  // error is ERROR
  kAutomove,
  kAutomoveRatio,
  kReassign,
};

struct SlabsArgs {
  SlabsCommand command;
  uint32_t level;  // kAutomove: 0, 1 or 2
  double ratio;    // kAutomoveRatio
  int32_t src;     // kReassign: memcached's safe_strtol truncation, -1 = "pick any"
  int32_t dst;
};

// No default member initialisers: TextRequest is default-initialised for every line, and only
// an operator line's parse sets these (value-initialising them first).
struct OperatorArgs {
  std::string_view error;  // the reply to bad arguments; empty: the arguments are good
  StatsArgs stats;
  CrawlerArgs crawler;
  SlabsArgs slabs;
  uint32_t megabytes;    // cache_memlimit: 8..1000000000
  bool graceful;         // shutdown graceful
  uint32_t watch_kinds;  // watch: WatchKind bits (fetchers when none given)
};

}  // namespace cachet::protocol
