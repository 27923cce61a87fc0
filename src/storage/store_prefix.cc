// flush_prefix: invalidation by key prefix at O(1) cost, applied lazily.
//
// A rule says "written before me": segments whose epoch is below the next epoch at the rule's
// creation, except the segments open then (the writers' and main's tail), where only the bytes
// below their published fill. A set acknowledged before the command was published below that
// fill, so it is covered; one still in flight lands above it and survives. The rule is created
// under the eviction mutex, and eviction drops covered items before it moves anything to a
// renewed segment, so no item crosses a rule by being moved. The rule goes into one table with a
// version; a shard copies the table when the version moved (a relaxed compare per lookup
// otherwise), and holds the rule until a full crawl of that shard has met every item it covers.
#include <xxhash.h>

#include <algorithm>

#include "storage/store.h"

namespace cachet::storage {

uint64_t Store::FlushPrefix(std::string_view prefix, bool stale,
                            std::optional<uint32_t> stale_exptime) {
  common::MutexLock evict_lock(evict_mu_);
  if (rules_active_.load(std::memory_order_relaxed) >= config_.max_prefix_rules) return 0;
  auto rule = std::make_shared<PrefixRule>();
  rule->prefix = std::string(prefix);
  rule->stale = stale;
  if (stale) rule->exptime = stale_exptime;
  rule->boundary = pool_.next_epoch();
  const auto note_open = [&](uint32_t segment, uint32_t used) {
    if (segment != SegmentPool::kNoSegment) rule->open.push_back({pool_.epoch(segment), used});
  };
  note_open(main_tail_.segment(), main_tail_.used());
  {
    common::MutexLock writers_lock(writers_mu_);
    for (const Writer* w : writers_) {
      const uint64_t position = w->position_.load(std::memory_order_acquire);
      note_open(static_cast<uint32_t>(position >> 32), static_cast<uint32_t>(position));
    }
  }
  rule->shards_left.store(shards_.size(), std::memory_order_relaxed);
  common::MutexLock rules_lock(rules_mu_);
  if (rules_.size() >= config_.max_prefix_rules) return 0;
  const uint64_t seq = rule->seq = ++rule_seq_;
  rules_.push_back(std::move(rule));
  rules_active_.store(rules_.size(), std::memory_order_relaxed);
  // Every lookup from here on copies the rule into its shard before it looks.
  rules_version_.fetch_add(1, std::memory_order_release);
  return seq;
}

std::optional<uint64_t> Store::PrefixRuleResult(uint64_t seq, std::function<void()> wake) {
  common::MutexLock rules_lock(rules_mu_);
  for (const auto& rule : rules_) {
    if (rule->seq == seq) {
      if (wake) rule_waiters_.emplace_back(seq, std::move(wake));
      return std::nullopt;
    }
  }
  for (const auto& [done, items] : rule_results_) {
    if (done == seq) return items;
  }
  return 0;
}

void Store::EndRuleLocked(const PrefixRule& rule) {
  constexpr size_t kResultsKept = 4096;
  rule_results_.emplace_back(rule.seq, rule.items.load(std::memory_order_relaxed));
  if (rule_results_.size() > kResultsKept) rule_results_.pop_front();
  std::erase_if(rule_waiters_, [&](auto& waiter) {
    if (waiter.first != rule.seq) return false;
    waiter.second();  // a worker's Waker: an eventfd write, fine under the lock
    return true;
  });
}

void Store::SyncRulesLocked(const Shard& shard) const {
  common::MutexLock rules_lock(rules_mu_);
  shard.rules.clear();
  for (const auto& rule : rules_) {
    if (rule->seq > shard.retired_upto) shard.rules.push_back(rule);
  }
  shard.rules_version = rules_version_.load(std::memory_order_relaxed);
  IndexRulesLocked(shard);
}

namespace {
uint64_t PrefixHash(std::string_view key, size_t len) { return XXH3_64bits(key.data(), len); }
}  // namespace

void Store::IndexRulesLocked(const Shard& shard) {
  shard.rule_lengths.clear();
  shard.rule_hashes.clear();
  for (const auto& rule : shard.rules) {
    shard.rule_lengths.push_back(static_cast<uint32_t>(rule->prefix.size()));
    shard.rule_hashes.emplace_back(PrefixHash(rule->prefix, rule->prefix.size()), rule.get());
  }
  std::sort(shard.rule_lengths.begin(), shard.rule_lengths.end());
  shard.rule_lengths.erase(std::unique(shard.rule_lengths.begin(), shard.rule_lengths.end()),
                           shard.rule_lengths.end());
  // By hash, then by seq: equal prefixes keep their order.
  std::sort(shard.rule_hashes.begin(), shard.rule_hashes.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second->seq < b.second->seq;
  });
}

Store::RuleEffect Store::MatchRulesLocked(const Shard& shard, const ItemRef& item,
                                          uint64_t location, const PrefixRule** matched) const {
  const uint32_t segment = pool_.SegmentOf(location);
  const uint64_t epoch = pool_.epoch(segment);
  const auto offset = static_cast<uint32_t>(location - pool_.SegmentStart(segment));
  RuleEffect effect = RuleEffect::kNone;
  for (const uint32_t len : shard.rule_lengths) {
    if (len > item.key.size()) break;
    const uint64_t h = PrefixHash(item.key, len);
    auto it = std::lower_bound(shard.rule_hashes.begin(), shard.rule_hashes.end(), h,
                               [](const auto& e, uint64_t v) { return e.first < v; });
    for (; it != shard.rule_hashes.end() && it->first == h; ++it) {
      const PrefixRule* rule = it->second;
      if (rule->prefix.size() != len || !item.key.starts_with(rule->prefix) ||
          !rule->Predates(epoch, offset)) {
        continue;
      }
      if (matched != nullptr && (effect == RuleEffect::kNone || !rule->stale)) *matched = rule;
      if (!rule->stale) return RuleEffect::kDrop;
      effect = RuleEffect::kStale;
    }
  }
  return effect;
}

bool Store::ApplyRulesLocked(Shard& shard, size_t slot, const ItemRef& item, uint64_t location,
                             uint32_t* retime) {
  const PrefixRule* rule = nullptr;
  switch (RuleLocked(shard, item, location, &rule)) {
    case RuleEffect::kNone:
      return false;
    case RuleEffect::kStale:
      if (!shard.index.HasBits(slot, shard.index.stale_bit())) {
        shard.index.SetBits(slot, shard.index.stale_bit());
        shard.index.ClearBits(slot, shard.index.token_bit());
        // In place when the item has the field (as touch); otherwise CrawlShard rewrites it.
        if (rule->exptime && item.exptime_offset != 0) StoreExptime(item, *rule->exptime);
        flush_prefix_items_.fetch_add(1, std::memory_order_relaxed);
        rule->items.fetch_add(1, std::memory_order_relaxed);
      }
      // Without the field the item never expires: only a TTL needs writing again.
      if (retime != nullptr && rule->exptime.value_or(0) != 0 && item.exptime_offset == 0) {
        *retime = *rule->exptime;
      }
      return false;
    case RuleEffect::kDrop:
      flush_prefix_items_.fetch_add(1, std::memory_order_relaxed);
      rule->items.fetch_add(1, std::memory_order_relaxed);
      RemoveItemLocked(shard, location, item);
      shard.index.EraseAt(slot);
      return true;
  }
  return false;
}

void Store::RetireRulesLocked(Shard& shard, uint64_t upto) {
  shard.retired_upto = std::max(shard.retired_upto, upto);
  // The lookup index points into these rules: rebuilt below, before the lock is released.
  std::erase_if(shard.rules, [&](const std::shared_ptr<const PrefixRule>& rule) {
    if (rule->seq > upto) return false;
    if (rule->shards_left.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      // Every shard is through: the rule leaves the table (unless a flush_all took it).
      common::MutexLock rules_lock(rules_mu_);
      if (std::find(rules_.begin(), rules_.end(), rule) != rules_.end()) EndRuleLocked(*rule);
      std::erase(rules_, rule);
      rules_active_.store(rules_.size(), std::memory_order_relaxed);
      rules_version_.fetch_add(1, std::memory_order_release);
    }
    return true;
  });
  IndexRulesLocked(shard);
}

}  // namespace cachet::storage
