#pragma once
// The item store: a log-structured arena of segments (segment_pool.h) indexed by a sharded hash
// index (hash_index.h). Density comes from a 3-26 byte item header, an 8-byte index entry and a
// CAS derived from the write location; see docs/design/storage.md.
//
// Ownership and threading:
// - Every mutation appends a whole new item version into the calling thread's Writer segment
//   (no lock), then publishes it in the key's shard under that shard's mutex. Readers look up and
//   copy under the same mutex, so nobody sees a torn or mixed value.
// - A full Writer segment is sealed into the pool's FIFO. When no free segment is left, the
//   thread that needs one evicts the oldest sealed segment. New items go through a short
//   probation queue: those read there move to the main queue, the rest are dropped; the main
//   queue keeps what was read since its last pass (both keep their CAS). See storage.md.
// - Times are "server seconds" (see server/server_time.h); exptime 0 means never, an item with
//   0 < exptime <= now is expired and never returned.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_set>
#include <vector>

#include "common/function_ref.h"
#include "common/mutex.h"
#include "common/outcome.h"
#include "storage/hash_index.h"
#include "storage/item_format.h"
#include "storage/segment_export.h"
#include "storage/segment_pool.h"
#include "storage/size_classes.h"

namespace cachet::storage {

// Which items are too large, as a formula the server chooses: key, value and a fixed overhead
// (plus more when flags are non-zero) must fit max_total. cachet uses memcached's own formula so
// the largest accepted value is the same, although its real per-item overhead is far smaller.
struct ItemSizeRule {
  size_t max_total = size_t{1} << 20;
  size_t fixed_overhead = 0;
  size_t flags_overhead = 0;
  // The item's size by this formula (memcached's ITEM_ntotal with cachet's settings).
  size_t Size(size_t key_len, uint32_t flags, size_t value_len) const {
    return fixed_overhead + key_len + value_len + (flags != 0 ? flags_overhead : 0);
  }
  bool Fits(size_t key_len, uint32_t flags, size_t value_len) const {
    return Size(key_len, flags, value_len) <= max_total;
  }
};

struct StoreConfig {
  size_t memory_limit = size_t{64} << 20;  // bytes for items and index together
  size_t segment_size = size_t{1} << 20;   // must hold the largest item
  size_t min_segments = 8;                 // floor whatever the limit (writers + FIFO)
  bool evict = true;                       // false (-M): refuse writes when full
  int shard_bits = 8;                      // at most Store::kMaxShardBits
  size_t max_prefix_rules = 64;            // flush_prefix rules active at once
  ItemSizeRule size_rule;                  // must admit only items that fit a segment
  SizeClasses classes;  // labels for `stats items|slabs`, by size_rule's item size
};

struct ItemView {
  std::string_view key;
  std::string_view value;
  uint32_t flags;
  uint32_t exptime;
  uint64_t cas;
  bool fetched_before;   // whether it had been read before this access
  uint32_t written_at;   // server time (see SegmentPool::WrittenAt)
  bool stale;            // invalidated through the meta protocol
  bool token_sent;       // a meta client already won the right to recache it
  bool won = false;      // MetaGet: this request won that right (W)
  bool created = false;  // MetaGet: vivified by this request
};

enum class ReadStatus : uint8_t { kHit, kMiss, kExpired };

// The meta protocol's mg options that change the item (all times are server times).
struct MetaGetOptions {
  bool no_bump = false;  // u: leave the access bits alone
  bool touch = false;    // T: set the exptime after reading
  uint32_t exptime = 0;
  bool vivify = false;  // N: create an empty item on a miss, and win its recache token
  uint32_t vivify_exptime = 0;
  bool recache = false;  // R: win the token when the item expires before this time
  uint32_t recache_before = 0;
  bool claim_token = true;  // false: a win is reported but not recorded (the reply failed)
};

struct MetaGetResult {
  ReadStatus status = ReadStatus::kMiss;
  bool created = false;  // vivified on a miss
  bool won = false;      // this client got the recache token (W)
};

enum class StoreMode : uint8_t { kSet, kAdd, kReplace, kAppend, kPrepend, kCas };

struct StoreStats {
  uint64_t curr_items = 0;
  uint64_t bytes = 0;  // encoded size of live items
  uint64_t total_items = 0;
  uint64_t evictions = 0;
  uint64_t evicted_unfetched = 0;
  uint64_t reclaimed = 0;  // expired items whose space eviction took back
  uint64_t expired_unfetched = 0;
  uint64_t get_flushed = 0;  // lookups that met an item hidden by a flush (and dropped it)
  uint64_t crawler_reclaimed = 0;
  uint64_t crawler_items_checked = 0;
  uint64_t flush_prefix_items = 0;         // items dropped because a prefix rule covered them
  uint64_t flush_prefix_rules_active = 0;  // rules whose sweep has not finished
  uint64_t index_bytes = 0;
  uint64_t segments_in_use = 0;
  uint64_t segment_size = 0;
  uint64_t limit_bytes = 0;
};

// One size class's counters (what `stats items` and `stats slabs` report per class).
struct ClassStats {
  uint64_t items = 0;
  uint64_t requested = 0;  // item sizes by ItemSizeRule (memcached's mem_requested)
  uint64_t evicted = 0;
  uint64_t evicted_nonzero = 0;  // evicted items that had an exptime
  uint64_t evicted_unfetched = 0;
  uint64_t evicted_time = 0;  // age in seconds (since written) of the last evicted item
  uint64_t reclaimed = 0;
  uint64_t expired_unfetched = 0;
  uint64_t crawler_reclaimed = 0;
  uint64_t crawler_items_checked = 0;
  uint64_t get_hits = 0;
  uint64_t cmd_set = 0;
  uint64_t delete_hits = 0;
  uint64_t incr_hits = 0;
  uint64_t decr_hits = 0;
  uint64_t cas_hits = 0;
  uint64_t cas_badval = 0;
  uint64_t touch_hits = 0;
  void Add(const ClassStats& o);
};

// One live item as a listing sees it (`stats cachedump`, `lru_crawler metadump`).
struct ListedItem {
  std::string_view key;
  uint32_t value_len;
  uint32_t exptime;  // server time, 0 = never
  uint64_t cas;
  bool fetched;
  uint32_t written_at;  // server time
  int size_class;
  uint32_t size;  // by ItemSizeRule
};

// Told about each eviction (e.g. for `watch evictions`), with the item's shard locked: it must
// not call back into the store.
struct EvictedItem {
  std::string_view key;
  bool fetched;
  uint32_t exptime;     // server time, 0 = never
  uint32_t written_at;  // server time
  int size_class;
  uint32_t value_len;
};
class EvictionObserver {
 public:
  virtual ~EvictionObserver() = default;
  virtual bool Wants() const = 0;
  virtual void OnEvict(const EvictedItem& item, uint32_t now) = 0;
};

class Store {
 public:
  static constexpr int kMaxShardBits = 12;
  // A thread's append position. One per writing thread; not shareable.
  class Writer {
   public:
    explicit Writer(Store& store);
    ~Writer();
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;

   private:
    friend class Store;
    // The main queue's tail: guarded by the eviction mutex, so not in the writers' registry.
    Writer(Store& store, SegmentPool::Queue queue)
        : store_(store), queue_(queue), registered_(false) {}
    uint32_t segment() const {
      return static_cast<uint32_t>(position_.load(std::memory_order_relaxed) >> 32);
    }
    uint32_t used() const {
      return static_cast<uint32_t>(position_.load(std::memory_order_relaxed));
    }
    // Only the owning thread moves it. One atomic (segment << 32 | used) so that a snapshot reads
    // a consistent pair; the release makes the bytes below `used` visible with it.
    void MoveTo(uint32_t segment, uint32_t used) {
      position_.store(uint64_t{segment} << 32 | used, std::memory_order_release);
    }
    Store& store_;
    const SegmentPool::Queue queue_ = SegmentPool::Queue::kProbation;  // where it seals into
    const bool registered_ = true;
    std::atomic<uint64_t> position_{uint64_t{SegmentPool::kNoSegment} << 32};
  };

  using ReadFn = common::FunctionRef<void(const ItemView&)>;

  explicit Store(const StoreConfig& config);
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // A hint before a batch of requests: starts loading the index slots, then the items, of up to
  // kMaxPrefetch keys, so that their misses overlap instead of each request waiting for its own.
  // Changes nothing.
  static constexpr size_t kMaxPrefetch = 32;
  void Prefetch(const std::string_view* keys, size_t n) const;

  // Calls `fn` with the shard lock held; it must copy what it needs and not re-enter the store.
  ReadStatus Get(std::string_view key, uint32_t now, ReadFn fn);
  // A look that leaves no trace: no access or fetched bit, no hit counted (for logging lookups
  // that memcached makes internally without touching the item).
  ReadStatus Peek(std::string_view key, uint32_t now, ReadFn fn);
  // Get, and then set the exptime of a hit (the value is returned even if it expires now).
  ReadStatus GetAndTouch(Writer& w, std::string_view key, uint32_t exptime, uint32_t now,
                         ReadFn fn);

  // set/add/replace/cas use flags and exptime; append/prepend keep the item's own. `cas` is the
  // CAS to compare for kCas, and for append/prepend when non-zero (binary protocol). The new
  // version's CAS goes to *new_cas when given. `allow_stale` (meta ms I): a kCas with a CAS
  // older than the item's stores anyway, marked stale.
  common::Outcome Put(Writer& w, StoreMode mode, std::string_view key, std::string_view value,
                      uint32_t flags, uint32_t exptime, uint64_t cas, uint32_t now,
                      uint64_t* new_cas = nullptr, bool allow_stale = false);
  // `cas` non-zero: delete only that version (kExists otherwise).
  common::Outcome Delete(std::string_view key, uint32_t now, uint64_t cas = 0);
  common::Outcome Touch(Writer& w, std::string_view key, uint32_t exptime, uint32_t now);
  // incr/decr with memcached's rules: incr wraps at 2^64, decr stops at 0, and a shorter result
  // is padded with spaces to the old length. kStored with *result set on success; `cas`
  // non-zero: only that version (kExists otherwise).
  common::Outcome Arith(Writer& w, std::string_view key, bool incr, uint64_t delta, uint32_t now,
                        uint64_t* result, uint64_t cas = 0, uint64_t* new_cas = nullptr);
  // mg: a read with the meta protocol's side effects (vivify, recache token, touch). `fn`
  // sees the item as it was before this request (with the token already won if so).
  MetaGetResult MetaGet(Writer& w, std::string_view key, uint32_t now, const MetaGetOptions& opts,
                        ReadFn fn);
  // md with I: marks the item stale, gives it a new CAS and clears its token; optionally sets
  // its exptime (0 = keep).
  common::Outcome Invalidate(Writer& w, std::string_view key, uint64_t cas, bool set_exptime,
                             uint32_t exptime, uint32_t now);
  // Hides every item written so far. Lazy, as memcached's oldest_live: the items stay (and
  // count in curr_items) until a lookup, eviction or the crawler meets them and drops them, so
  // get_flushed can count the lookups. An item is flushed when its segment's epoch is below the
  // flush's; writers move to a fresh segment before they write again.
  void Flush();

  // One slice of an LRU crawl: visits up to `max_slots` index slots of shard `shard` from slot
  // `from` under its lock, dropping expired and flushed items of the classes `wanted` selects
  // (indexed by class id; empty: all) while fewer than `*budget` items were checked (each
  // check decrements it; memcached's tocrawl). Counts into crawler_items_checked and
  // crawler_reclaimed. Returns the slot to continue from, or kListDone.
  // A pass that checks every item (all classes, no budget) is `full`: when it reaches the end
  // of a shard whose index did not grow meanwhile, the prefix rules that existed when it began
  // that shard are retired there (it met every item they cover).
  // `w` writes again what a stale rule with an exptime marked without room for it (null: not
  // done, as by a pass that is not full).
  size_t CrawlShard(size_t shard, size_t from, size_t max_slots, uint32_t now,
                    const std::vector<bool>& wanted, std::vector<uint64_t>* budget,
                    bool full = false, Writer* w = nullptr);

  // flush_prefix (store_prefix.cc): every item whose key starts with `prefix` and that was
  // written before this call is gone for every command; items written after it stay. O(1)
  // whatever the cache holds: a rule records where writing stood (the next segment epoch and
  // the open segments' fill) and lookups, listings and eviction apply it until a full crawl
  // retires it. False when config's max_prefix_rules rules are active. With `stale` (mp I) the
  // items are not dropped but marked stale once, as md I marks one (meta readers then see X
  // and one of them W), without a new CAS; a `stale_exptime` (mp I T) becomes their
  // exptime as they are marked (an item stored without an exptime field gets it from the
  // sweep, which writes the same version again: until then it is stale without expiry).
  // Returns the rule's sequence number, 0 when the table is full.
  uint64_t FlushPrefix(std::string_view prefix, bool stale = false,
                       std::optional<uint32_t> stale_exptime = std::nullopt);
  // mp w: how many items rule `seq` dropped or marked, once it has retired; nullopt while it is
  // active, and `wake` (if any) is called from whichever thread retires it when it does. A rule
  // retired long ago (past the last 4096) reports 0.
  std::optional<uint64_t> PrefixRuleResult(uint64_t seq, std::function<void()> wake);

  StoreStats Stats() const;
  // cache_memlimit (see SegmentPool::SetMemoryLimit).
  bool SetMemoryLimit(size_t bytes) { return pool_.SetMemoryLimit(bytes); }
  size_t memory_limit() const { return pool_.memory_limit(); }
  // Set once, before the store is shared between threads.
  void set_eviction_observer(EvictionObserver* observer) { observer_ = observer; }
  const ItemSizeRule& size_rule() const { return config_.size_rule; }
  const SizeClasses& size_classes() const { return config_.classes; }
  // The class an item of these sizes is counted in (by size_rule's item size).
  int ClassOf(size_t key_len, uint32_t flags, size_t value_len) const {
    return config_.classes.ClassOf(config_.size_rule.Size(key_len, flags, value_len));
  }
  // Per class, indexed by class id (index 0 unused).
  std::vector<ClassStats> ClassTotals() const;
  // Server time when the oldest data still in memory was written (0: nothing written yet).
  uint32_t OldestWriteTime() const { return pool_.OldestWriteTime(); }

  // Listing in small steps so other clients are never held up for long: calls `fn` for live
  // items of shard `shard` (expired ones are skipped) from index slot `from`, with that shard's
  // lock held, until `max_items` were visited. Returns the slot to continue from, or npos when
  // the shard is done. Shards are numbered 0..shard_count()-1. Not a snapshot: items written
  // meanwhile may or may not appear, and an index that grows between steps may repeat or skip
  // some.
  static constexpr size_t kListDone = ~size_t{0};
  using ListFn = common::FunctionRef<void(const ListedItem&)>;
  size_t shard_count() const { return shards_.size(); }
  size_t ListShard(size_t shard, size_t from, size_t max_items, uint32_t now, ListFn fn) const;

  // Snapshots (store_snapshot.cc; the file around them is snapshot_file.h's).
  //
  // Export hands `sink` each segment that holds live items, with those items: the main queue
  // oldest first, then probation, then segments sealed meanwhile, then the open ones (main's
  // tail, the writers'). Safe while serving: a segment is read with eviction held off (one
  // segment at a time) and each item copied under its shard lock. While writes go on, it is not
  // a point-in-time copy: a key written or moved during the walk may come twice, the later copy
  // being the newer. False when the sink stopped it; *next_epoch is above every exported epoch.
  // `mode` (segment_export.h) says what else runs meanwhile.
  bool Export(SegmentSink& sink, uint32_t now, uint64_t* next_epoch,
              ExportMode mode = ExportMode::kServing);

  // Restoring, before the store is shared with other threads: size the index, then for each
  // saved segment take one, fill its bytes, restore its items and seal it; FinishRestore last.
  // Segments that fit the budget beside an index sized for `items` items.
  size_t SegmentsFitting(uint64_t items) const;
  void ReserveIndex(size_t shard, size_t items);
  // nullopt when the budget holds no more segments.
  std::optional<uint32_t> TakeRestoredSegment(uint64_t epoch, const SegmentPool::TimeMarks& times);
  uint8_t* SegmentBytes(uint32_t segment) const { return pool_.At(pool_.SegmentStart(segment)); }
  size_t segment_size() const { return pool_.segment_size(); }
  // Indexes the items at `offsets` of a restored segment (already validated with
  // DecodeItemChecked), those of the shards with shard % parts == part only: threads that take
  // different parts may restore the same segment at once. A key met again keeps its later
  // copy. Adds to *counts.
  struct RestoreCounts {
    uint64_t added = 0;
    uint64_t replaced = 0;  // a later copy of a key (online snapshots may hold two)
    uint64_t expired = 0;   // its time passed: not indexed
  };
  void RestoreItems(uint32_t segment, const uint32_t* offsets, const uint8_t* states, size_t n,
                    uint32_t now, size_t part, size_t parts, RestoreCounts* counts);
  void SealRestoredSegment(uint32_t segment, uint32_t used, SegmentPool::Queue queue);
  // Later epochs (so later CASes) start at `next_epoch` at least.
  void FinishRestore(uint64_t next_epoch) { pool_.RaiseNextEpoch(next_epoch); }

 private:
  // One flush_prefix: what was written before it. Immutable once published to the shards.
  struct PrefixRule {
    std::string prefix;
    uint64_t boundary = 0;  // segments with a lower epoch were written before the rule...
    struct Open {
      uint64_t epoch;
      uint32_t used;
    };
    std::vector<Open> open;  // ...except those open then: only below their fill
    uint64_t seq = 0;
    bool stale = false;                          // mark the items stale instead of dropping them
    std::optional<uint32_t> exptime;             // with stale: their new exptime
    mutable std::atomic<size_t> shards_left{0};  // shards that still hold it
    mutable std::atomic<uint64_t> items{0};      // dropped or marked by it
    bool Predates(uint64_t epoch, uint32_t offset) const {
      if (epoch >= boundary) return false;
      for (const Open& o : open) {
        if (o.epoch == epoch) return offset < o.used;
      }
      return true;
    }
  };
  struct Shard {
    Shard(int loc_bits, int classes) : index(loc_bits), classes(static_cast<size_t>(classes) + 1) {}
    mutable common::Mutex mu;
    HashIndex index CACHET_GUARDED_BY(mu);
    uint64_t bytes CACHET_GUARDED_BY(mu) = 0;
    std::vector<ClassStats> classes CACHET_GUARDED_BY(mu);  // by class id
    // The store's prefix rules as of rules_version, less those this shard retired (a lookup
    // brings them up to date: mutable, so that const readers can).
    mutable std::vector<std::shared_ptr<const PrefixRule>> rules CACHET_GUARDED_BY(mu);
    mutable uint64_t rules_version CACHET_GUARDED_BY(mu) = 0;
    // The same rules for lookups: their distinct prefix lengths (ascending), and (hash of the
    // prefix, rule) sorted by hash, so a key costs one probe per distinct length.
    mutable std::vector<uint32_t> rule_lengths CACHET_GUARDED_BY(mu);
    mutable std::vector<std::pair<uint64_t, const PrefixRule*>> rule_hashes CACHET_GUARDED_BY(mu);
    uint64_t retired_upto CACHET_GUARDED_BY(mu) = 0;  // rules of lower seq are done here
    // A full crawl of this shard: the last rule it will retire and the index size it began with.
    uint64_t sweep_seq CACHET_GUARDED_BY(mu) = 0;
    size_t sweep_capacity CACHET_GUARDED_BY(mu) = 0;
    // HashIndex::PrefetchHome reads only atomics, so it needs no lock.
    void PrefetchHome(uint64_t hash) const CACHET_NO_THREAD_SAFETY_ANALYSIS {
      index.PrefetchHome(hash);
    }
  };
  struct Found {
    size_t slot = HashIndex::kNotFound;
    uint64_t location = 0;
    ItemRef item;
  };
  // Callbacks of a read-modify-write, run in one critical section on the current version:
  // `plan` returns an upper bound of the new encoded size (0 = stop with *outcome); `build`
  // writes the new version and returns its size.
  using PlanFn =
      common::FunctionRef<size_t(const ItemRef& old, uint64_t old_cas, common::Outcome* outcome)>;
  using BuildFn = common::FunctionRef<size_t(const ItemRef& old, uint64_t old_cas, uint8_t* dst)>;

  static uint64_t Hash(std::string_view key);
  Shard& ShardFor(uint64_t hash) { return *shards_[hash & shard_mask_]; }
  const Shard& ShardFor(uint64_t hash) const { return *shards_[hash & shard_mask_]; }
  // Finds a live version under the shard lock; erases an expired or flushed one it meets.
  Found FindLocked(Shard& shard, uint64_t hash, std::string_view key, uint32_t now, bool* expired)
      CACHET_REQUIRES(shard.mu);
  void EraseLocked(Shard& shard, const Found& f) CACHET_REQUIRES(shard.mu);
  // Live-byte accounting of one item at `location` (per shard for stats, per segment for -M).
  void AccountLocked(Shard& shard, uint64_t location, int64_t delta) CACHET_REQUIRES(shard.mu) {
    shard.bytes += static_cast<uint64_t>(delta);
    pool_.AddLive(location, delta);
  }
  // An item version becomes live or stops being live: bytes, and its size class's count.
  void AddItemLocked(Shard& shard, uint64_t location, const ItemRef& item)
      CACHET_REQUIRES(shard.mu) {
    AccountLocked(shard, location, static_cast<int64_t>(item.total_size()));
    ClassStats& c = ClassOfLocked(shard, item);
    ++c.items;
    c.requested += RequestedSize(item);
  }
  void RemoveItemLocked(Shard& shard, uint64_t location, const ItemRef& item)
      CACHET_REQUIRES(shard.mu) {
    AccountLocked(shard, location, -static_cast<int64_t>(item.total_size()));
    ClassStats& c = ClassOfLocked(shard, item);
    --c.items;
    c.requested -= RequestedSize(item);
  }
  size_t RequestedSize(const ItemRef& item) const {
    return config_.size_rule.Size(item.key.size(), item.flags, item.value_len);
  }
  void CountEvictionLocked(ClassStats& c, const ItemRef& item, uint64_t location, uint32_t now,
                           bool fetched) {
    ++c.evicted;
    if (LoadExptime(item) != 0) ++c.evicted_nonzero;
    const uint32_t written = pool_.WrittenAt(location);
    c.evicted_time = now > written ? now - written : 0;
    if (observer_ != nullptr && observer_->Wants()) {
      observer_->OnEvict({item.key, fetched, LoadExptime(item), written,
                          config_.classes.ClassOf(RequestedSize(item)), item.value_len},
                         now);
    }
  }
  ClassStats& ClassOfLocked(Shard& shard, const ItemRef& item) CACHET_REQUIRES(shard.mu) {
    return shard.classes[static_cast<size_t>(config_.classes.ClassOf(RequestedSize(item)))];
  }
  void InsertLocked(Shard& shard, uint64_t hash, uint64_t location, uint64_t bits = 0)
      CACHET_REQUIRES(shard.mu);
  // What the shard's prefix rules make of the item (store_prefix.cc): a drop rule wins.
  enum class RuleEffect : uint8_t { kNone, kStale, kDrop };
  RuleEffect RuleLocked(const Shard& shard, const ItemRef& item, uint64_t location,
                        const PrefixRule** rule = nullptr) const CACHET_REQUIRES(shard.mu) {
    if (rules_version_.load(std::memory_order_acquire) != shard.rules_version) {
      SyncRulesLocked(shard);
    }
    return shard.rules.empty() ? RuleEffect::kNone : MatchRulesLocked(shard, item, location, rule);
  }
  // Copies the store's rules into the shard (the ones it has not retired).
  void SyncRulesLocked(const Shard& shard) const CACHET_REQUIRES(shard.mu);
  // Rebuilds rule_lengths and rule_hashes from shard.rules.
  static void IndexRulesLocked(const Shard& shard) CACHET_REQUIRES(shard.mu);
  // The effect, and in *rule the rule that has it.
  RuleEffect MatchRulesLocked(const Shard& shard, const ItemRef& item, uint64_t location,
                              const PrefixRule** rule = nullptr) const CACHET_REQUIRES(shard.mu);
  // (key, cas, exptime) of the items CrawlShard writes again.
  using RetimeList = std::vector<std::tuple<std::string, uint64_t, uint32_t>>;
  size_t CrawlShardLocked(size_t shard, size_t from, size_t max_slots, uint32_t now,
                          const std::vector<bool>& wanted, std::vector<uint64_t>* budget, bool full,
                          RetimeList* retimes);
  // Takes a retired rule out of the table, keeping its count for mp w and waking its waiters.
  void EndRuleLocked(const PrefixRule& rule) CACHET_REQUIRES(rules_mu_);
  // Applies the rules to the item in `slot`: true when one dropped it (the slot is erased); a
  // stale rule marks it stale and clears its token, once (an item already stale keeps its
  // token: a reader may hold the win). A stale rule's exptime that the item has no field for
  // goes to *retime (if given).
  bool ApplyRulesLocked(Shard& shard, size_t slot, const ItemRef& item, uint64_t location,
                        uint32_t* retime = nullptr) CACHET_REQUIRES(shard.mu);
  // Drops the rules of seq <= `upto` from the shard.
  void RetireRulesLocked(Shard& shard, uint64_t upto) CACHET_REQUIRES(shard.mu);
  // Written before the last flush (see Flush).
  bool FlushedAt(uint64_t location) const {
    return pool_.epoch(pool_.SegmentOf(location)) < flush_epoch_.load(std::memory_order_acquire);
  }
  // A writer whose open segment predates the last flush leaves it before writing again.
  void LeaveFlushedSegment(Writer& w) {
    if (w.segment() != SegmentPool::kNoSegment &&
        pool_.epoch(w.segment()) < flush_epoch_.load(std::memory_order_acquire)) {
      RetireWriterSegment(w);
    }
  }
  uint64_t CasOf(const ItemRef& item, uint64_t location) const {
    return item.stored_cas != 0 ? item.stored_cas : pool_.CasOf(location);
  }
  ItemView ViewOf(const Found& f, const Shard& shard) const CACHET_REQUIRES(shard.mu);
  // How a read-modify-write treats the entry's state bits and total_items.
  struct RmwKind {
    bool new_item;      // counts in total_items (memcached counts a relinked item)
    bool same_version;  // a touch moves the same version: keeps all state bits
    bool set_stale;     // md I: the new version is stale and its token is cleared
    // incr/decr: memcached updates in place (state kept) unless the number outgrew the item;
    // when set, same_version is taken as !*outgrew after the build.
    const bool* outgrew = nullptr;
    uint64_t ClassStats::*counter = nullptr;  // a per-class hit counter to bump on success
  };
  common::Outcome ReadModifyWrite(Writer& w, std::string_view key, uint32_t now, RmwKind kind,
                                  PlanFn plan, BuildFn build, uint64_t* new_cas = nullptr);
  // Writes the version whose CAS is `expected_cas` (0: the current one) again with an exptime
  // field, keeping its CAS; kExists if another version replaced it meanwhile.
  common::Outcome RewriteExptime(Writer& w, std::string_view key, uint32_t exptime,
                                 uint64_t expected_cas, uint32_t now);

  // store_eviction.cc: writer space and segment turnover.
  uint64_t Reserve(Writer& w, size_t size, uint32_t now);  // 0 when no memory
  void Commit(Writer& w, size_t size) {
    w.MoveTo(w.segment(), w.used() + static_cast<uint32_t>(size));
  }
  void RetireWriterSegment(Writer& w);
  bool AcquireSegment(Writer& w, uint32_t now);
  // The segment to empty for a writer: probation while it holds more than its share.
  std::optional<SegmentPool::Sealed> TakeVictim();
  // Empties the victim: items read since they were written or last moved go to the main
  // queue's tail, the rest are dropped.
  void Drain(SegmentPool::Sealed victim, uint32_t now) CACHET_REQUIRES(evict_mu_);
  // Calls fn(offset, location, item, size) for each item of a sealed segment in order, pad
  // bytes skipped, with the index slots of the next few items prefetched.
  template <typename Fn>
  void ForEachItem(SegmentPool::Sealed victim, Fn&& fn);
  // Prefetches the index slot of the item at or after `off` in the segment at `start` (pad
  // bytes skipped); returns the offset after it, or `used` at the end.
  uint32_t PrefetchSlotAt(uint64_t start, uint32_t off, uint32_t used) const;
  // Room for `size` bytes at the main queue's tail (main_tail_ not advanced), or 0.
  uint64_t ReserveMain(size_t size, uint32_t now) CACHET_REQUIRES(evict_mu_);
  // Drops the victim's items except recently read ones, which slide to its front while they fit
  // in keep_limit bytes; returns the bytes kept.
  uint32_t Compact(SegmentPool::Sealed victim, size_t keep_limit, uint32_t now)
      CACHET_REQUIRES(evict_mu_);
  // Under the item's shard lock, during eviction: drops the item unless it was read since it was
  // written or last kept (expired or flushed: reclaimed; otherwise evicted). True when it stays.
  bool KeepIfReadLocked(Shard& shard, size_t slot, uint64_t location, const ItemRef& item,
                        uint32_t now) CACHET_REQUIRES(shard.mu);
  void ReclaimLocked(Shard& shard, size_t slot, uint64_t location, const ItemRef& item)
      CACHET_REQUIRES(shard.mu);
  void EvictLocked(Shard& shard, size_t slot, uint64_t location, const ItemRef& item, uint32_t now)
      CACHET_REQUIRES(shard.mu);
  // store_snapshot.cc.
  struct ExportSegment {
    uint32_t segment;
    uint32_t used;
    uint64_t epoch;
    SegmentPool::Queue queue;
  };
  struct ExportScratch {
    std::vector<int32_t> slot_of;  // segment -> its place in the group being exported, or -1
    std::vector<uint64_t> live;    // the group's live items, packed (see ExportGroup)
    std::vector<uint64_t> room;    // for sorting one segment's
    std::vector<size_t> bucket;    // where each segment's items start in `live`, once sorted
    std::unordered_set<uint64_t> exported;  // epochs done
  };
  // The segments to export, oldest first in each queue, then the open ones.
  std::vector<ExportSegment> ListForExport();
  bool ExportGroup(const ExportSegment* group, size_t n, uint32_t now, ExportMode mode,
                   SegmentSink& sink, ExportScratch& scratch);
  // Where an index entry keeps its location and state bits (the same in every shard).
  struct EntryBits {
    uint64_t location, accessed, fetched, stale, token;
    uint8_t StateOf(uint64_t entry) const;  // as item_state bits
  };
  EntryBits EntryBitsOf(const Shard& shard) const CACHET_REQUIRES(shard.mu);
  uint64_t IndexBits(const Shard& shard, uint8_t state) const CACHET_REQUIRES(shard.mu);
  // The state bits a moved item keeps: all but `accessed`, which it must earn again.
  uint64_t MovedBits(const Shard& shard) const CACHET_REQUIRES(shard.mu) {
    return shard.index.fetched_bit() | shard.index.stale_bit() | shard.index.token_bit();
  }

  const StoreConfig config_;
  SegmentPool pool_;
  const uint64_t shard_mask_;
  std::vector<std::unique_ptr<Shard>> shards_;

  // One eviction at a time (or a snapshot reading a segment).
  common::Mutex evict_mu_;
  std::vector<uint32_t> pinned_ CACHET_GUARDED_BY(evict_mu_);  // reused by every Compact()
  // Every worker's Writer, so a snapshot finds their open segments. A leaf lock, taken after
  // evict_mu_ when both are held.
  common::Mutex writers_mu_;
  std::vector<const Writer*> writers_ CACHET_GUARDED_BY(writers_mu_);

  EvictionObserver* observer_ = nullptr;
  std::atomic<uint64_t> total_items_{0};
  std::atomic<uint64_t> evictions_{0};
  std::atomic<uint64_t> evicted_unfetched_{0};
  std::atomic<uint64_t> reclaimed_{0};
  std::atomic<uint64_t> expired_unfetched_{0};
  std::atomic<uint64_t> get_flushed_{0};
  std::atomic<uint64_t> crawler_reclaimed_{0};
  std::atomic<uint64_t> crawler_items_checked_{0};
  std::atomic<uint64_t> flush_prefix_items_{0};
  // Every active rule; a shard copies them when rules_version_ moved. A leaf lock, taken
  // under a shard lock: creating a rule never waits for a shard (one may be held for a slice).
  mutable common::Mutex rules_mu_;
  std::vector<std::shared_ptr<const PrefixRule>> rules_ CACHET_GUARDED_BY(rules_mu_);
  uint64_t rule_seq_ CACHET_GUARDED_BY(rules_mu_) = 0;
  std::vector<std::pair<uint64_t, std::function<void()>>> rule_waiters_
      CACHET_GUARDED_BY(rules_mu_);
  std::deque<std::pair<uint64_t, uint64_t>> rule_results_ CACHET_GUARDED_BY(rules_mu_);
  std::atomic<uint64_t> rules_version_{0};
  std::atomic<uint64_t> rules_active_{0};
  // Segments with a lower epoch hold only flushed items (set under evict_mu_, see Flush).
  std::atomic<uint64_t> flush_epoch_{0};
  // Where eviction appends the items it moves to the main queue. Last, so it is destroyed
  // (sealing its segment) while the pool still exists.
  Writer main_tail_ CACHET_GUARDED_BY(evict_mu_){*this, SegmentPool::Queue::kMain};
};

}  // namespace cachet::storage
