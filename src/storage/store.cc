#include "storage/store.h"

#include <xxhash.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "common/numbers.h"

namespace cachet::storage {

using common::Outcome;

namespace {
bool Expired(uint32_t exptime, uint32_t now) { return exptime != 0 && exptime <= now; }
// An upper bound of a rewrite of `old` with value_len bytes: room for an exptime field and a
// stored CAS whether or not the new version has them. The CAS is a varint: the placeholder must
// be the largest (10 bytes), as any real CAS takes 3 or more.
size_t RewriteBound(std::string_view key, const ItemRef& old, uint32_t value_len) {
  return EncodedSize({key, value_len, old.flags, /*exptime=*/1, /*cas=*/~uint64_t{0}});
}
// A read-modify-write needs another round only when its space guess was too small; the guess
// doubles up to a segment, so a few rounds always suffice.
constexpr int kMaxRmwAttempts = 32;
}  // namespace

Store::Store(const StoreConfig& config)
    : config_(config),
      pool_(config.memory_limit, config.segment_size, config.min_segments),
      shard_mask_((uint64_t{1} << config.shard_bits) - 1) {
  if (config.shard_bits < 0 || config.shard_bits > kMaxShardBits) std::abort();  // a bug
  shards_.reserve(size_t{1} << config.shard_bits);
  for (size_t i = 0; i < (size_t{1} << config.shard_bits); ++i) {
    shards_.push_back(std::make_unique<Shard>(pool_.location_bits(), config.classes.count()));
    pool_.AddIndexBytes(static_cast<int64_t>(shards_.back()->index.memory_bytes()));
  }
}

Store::Writer::Writer(Store& store) : store_(store) {
  common::MutexLock lock(store.writers_mu_);
  store.writers_.push_back(this);
}

Store::Writer::~Writer() {
  store_.RetireWriterSegment(*this);
  if (!registered_) return;
  common::MutexLock lock(store_.writers_mu_);
  std::erase(store_.writers_, this);
}

uint64_t Store::Hash(std::string_view key) { return XXH3_64bits(key.data(), key.size()); }

void Store::Prefetch(const std::string_view* keys, size_t n) const {
  uint64_t hashes[kMaxPrefetch];
  n = std::min(n, kMaxPrefetch);
  for (size_t i = 0; i < n; ++i) {
    hashes[i] = Hash(keys[i]);
    ShardFor(hashes[i]).PrefetchHome(hashes[i]);
  }
  for (size_t i = 0; i < n; ++i) {
    const Shard& shard = ShardFor(hashes[i]);
    // The first entry whose stored hash bits match: where the item almost surely is (no key
    // comparison, which would itself wait for the item).
    uint64_t location = 0;
    {
      common::MutexLock lock(shard.mu);
      shard.index.Find(hashes[i], [&](uint64_t l) {
        location = l;
        return true;
      });
    }
    if (location == 0) continue;
    // Header, key and the start of the value; a small item's value ends in the next line.
    const uint8_t* item = pool_.At(location);
    __builtin_prefetch(item);
    __builtin_prefetch(item + 64);
  }
}

Store::Found Store::FindLocked(Shard& shard, uint64_t hash, std::string_view key, uint32_t now,
                               bool* expired) {
  Found f;
  f.slot = shard.index.Find(hash, [&](uint64_t location) {
    ItemRef item = DecodeItem(pool_.At(location));
    if (item.key != key) return false;
    f.location = location;
    f.item = item;
    return true;
  });
  if (expired) *expired = false;
  if (f.slot == HashIndex::kNotFound) return f;
  if (FlushedAt(f.location)) {
    // memcached's do_item_get checks the flush first and counts no expiry for it.
    get_flushed_.fetch_add(1, std::memory_order_relaxed);
    EraseLocked(shard, f);
    return Found{};
  }
  if (ApplyRulesLocked(shard, f.slot, f.item, f.location)) return Found{};
  if (Expired(LoadExptime(f.item), now)) {
    if (expired) *expired = true;
    if (!shard.index.HasBits(f.slot, shard.index.fetched_bit())) {
      expired_unfetched_.fetch_add(1, std::memory_order_relaxed);
      ++ClassOfLocked(shard, f.item).expired_unfetched;
    }
    EraseLocked(shard, f);
    f = Found{};
  }
  return f;
}

void Store::EraseLocked(Shard& shard, const Found& f) {
  RemoveItemLocked(shard, f.location, f.item);
  shard.index.EraseAt(f.slot);
}

void Store::InsertLocked(Shard& shard, uint64_t hash, uint64_t location, uint64_t bits) {
  const size_t before = shard.index.memory_bytes();
  shard.index.Insert(hash, location, bits);
  const size_t after = shard.index.memory_bytes();
  if (after != before) pool_.AddIndexBytes(static_cast<int64_t>(after - before));
  AddItemLocked(shard, location, DecodeItem(pool_.At(location)));
}

ItemView Store::ViewOf(const Found& f, const Shard& shard) const {
  return ItemView{f.item.key,
                  std::string_view(f.item.value(), f.item.value_len),
                  f.item.flags,
                  LoadExptime(f.item),
                  CasOf(f.item, f.location),
                  shard.index.HasBits(f.slot, shard.index.fetched_bit()),
                  pool_.WrittenAt(f.location),
                  shard.index.HasBits(f.slot, shard.index.stale_bit()),
                  shard.index.HasBits(f.slot, shard.index.token_bit())};
}

ReadStatus Store::Get(std::string_view key, uint32_t now, ReadFn fn) {
  const uint64_t h = Hash(key);
  Shard& shard = ShardFor(h);
  common::MutexLock lock(shard.mu);
  bool expired;
  Found f = FindLocked(shard, h, key, now, &expired);
  if (f.slot == HashIndex::kNotFound) return expired ? ReadStatus::kExpired : ReadStatus::kMiss;
  fn(ViewOf(f, shard));
  shard.index.SetBits(f.slot, shard.index.accessed_bit() | shard.index.fetched_bit());
  ++ClassOfLocked(shard, f.item).get_hits;
  return ReadStatus::kHit;
}

ReadStatus Store::Peek(std::string_view key, uint32_t now, ReadFn fn) {
  const uint64_t h = Hash(key);
  Shard& shard = ShardFor(h);
  common::MutexLock lock(shard.mu);
  bool expired;
  Found f = FindLocked(shard, h, key, now, &expired);
  if (f.slot == HashIndex::kNotFound) return expired ? ReadStatus::kExpired : ReadStatus::kMiss;
  fn(ViewOf(f, shard));
  return ReadStatus::kHit;
}

ReadStatus Store::GetAndTouch(Writer& w, std::string_view key, uint32_t exptime, uint32_t now,
                              ReadFn fn) {
  const uint64_t h = Hash(key);
  Shard& shard = ShardFor(h);
  uint64_t seen_cas;
  {
    common::MutexLock lock(shard.mu);
    bool expired;
    Found f = FindLocked(shard, h, key, now, &expired);
    if (f.slot == HashIndex::kNotFound) return expired ? ReadStatus::kExpired : ReadStatus::kMiss;
    const ItemView view = ViewOf(f, shard);
    fn(view);
    shard.index.SetBits(f.slot, shard.index.accessed_bit() | shard.index.fetched_bit());
    ++ClassOfLocked(shard, f.item).touch_hits;
    if (f.item.exptime_offset != 0) {
      StoreExptime(f.item, exptime);
      return ReadStatus::kHit;
    }
    if (exptime == 0) return ReadStatus::kHit;
    seen_cas = view.cas;
  }
  // Only the version returned gets the new TTL: one written meanwhile keeps its own, as if the
  // gat came first; one deleted meanwhile stays deleted.
  RewriteExptime(w, key, exptime, seen_cas, now);
  return ReadStatus::kHit;
}

Outcome Store::Put(Writer& w, StoreMode mode, std::string_view key, std::string_view value,
                   uint32_t flags, uint32_t exptime, uint64_t cas, uint32_t now, uint64_t* new_cas,
                   bool allow_stale) {
  if (mode == StoreMode::kAppend || mode == StoreMode::kPrepend) {
    const bool append = mode == StoreMode::kAppend;
    Outcome result = ReadModifyWrite(
        w, key, now, RmwKind{.new_item = true, .same_version = false, .set_stale = false},
        [&](const ItemRef& old, uint64_t old_cas, Outcome* outcome) -> size_t {
          if (cas != 0 && cas != old_cas) {
            *outcome = Outcome::kExists;
            return 0;
          }
          const size_t len = size_t{old.value_len} + value.size();
          if (!config_.size_rule.Fits(key.size(), old.flags, len)) {
            *outcome = Outcome::kTooLarge;
            return 0;
          }
          return RewriteBound(key, old, static_cast<uint32_t>(len));
        },
        [&](const ItemRef& old, uint64_t, uint8_t* dst) -> size_t {
          const ItemFields f{key, old.value_len + static_cast<uint32_t>(value.size()), old.flags,
                             LoadExptime(old)};
          uint8_t* p = EncodeHeaderAndKey(f, dst);
          if (!append) {
            std::memcpy(p, value.data(), value.size());
            p += value.size();
          }
          std::memcpy(p, old.value(), old.value_len);
          p += old.value_len;
          if (append) {
            std::memcpy(p, value.data(), value.size());
            p += value.size();
          }
          return static_cast<size_t>(p - dst);
        },
        new_cas);
    // memcached answers NOT_STORED for a missing item (and for one it cannot grow).
    if (result == Outcome::kNotFound || result == Outcome::kTooLarge) return Outcome::kNotStored;
    return result;
  }

  if (!config_.size_rule.Fits(key.size(), flags, value.size())) return Outcome::kTooLarge;
  const uint64_t h = Hash(key);
  Shard& shard = ShardFor(h);
  if (allow_stale && mode == StoreMode::kCas) {
    // memcached's ms I with an older CAS replaces the value but keeps the item's TTL, so the new
    // version is encoded with it. CAS values only grow, so the check below agrees with this one.
    common::MutexLock lock(shard.mu);
    const Found f = FindLocked(shard, h, key, now, nullptr);
    if (f.slot != HashIndex::kNotFound && cas < CasOf(f.item, f.location)) {
      exptime = LoadExptime(f.item);
    }
  }
  const ItemFields fields{key, static_cast<uint32_t>(value.size()), flags, exptime};
  const size_t size = EncodedSize(fields);
  if (size > pool_.segment_size()) return Outcome::kTooLarge;
  const uint64_t location = Reserve(w, size, now);
  if (location == 0) return Outcome::kNoMemory;
  uint8_t* p = EncodeHeaderAndKey(fields, pool_.At(location));
  std::memcpy(p, value.data(), value.size());

  {
    common::MutexLock lock(shard.mu);
    Found f = FindLocked(shard, h, key, now, nullptr);
    const bool exists = f.slot != HashIndex::kNotFound;
    bool mark_stale = false;
    switch (mode) {
      case StoreMode::kAdd:
        if (exists) {
          // memcached bumps an existing item's LRU position on a failed add.
          shard.index.SetBits(f.slot, shard.index.accessed_bit());
          return Outcome::kNotStored;  // the reservation is simply not committed
        }
        break;
      case StoreMode::kReplace:
        if (!exists) return Outcome::kNotStored;
        break;
      case StoreMode::kCas: {
        if (!exists) return Outcome::kNotFound;
        const uint64_t current = CasOf(f.item, f.location);
        if (current != cas && !(allow_stale && cas < current)) {
          ++ClassOfLocked(shard, f.item).cas_badval;
          return Outcome::kExists;
        }
        ++ClassOfLocked(shard, f.item).cas_hits;
        mark_stale = current != cas;
        break;
      }
      default:
        break;
    }
    const ItemRef written = DecodeItem(pool_.At(location));
    if (exists) {
      const uint32_t old_exptime = LoadExptime(f.item);
      RemoveItemLocked(shard, f.location, f.item);
      AddItemLocked(shard, location, written);
      // A stale set keeps the win token already handed out, as memcached's ITEM_TOKEN_SENT.
      shard.index.SetLocation(f.slot, location, mark_stale ? shard.index.token_bit() : 0);
      if (mark_stale) {
        shard.index.SetBits(f.slot, shard.index.stale_bit());
        // A touch between the peek above and here moved the TTL: follow it where the field fits.
        if (old_exptime != exptime && old_exptime != 0 && exptime != 0) {
          StoreExptime(written, old_exptime);
        }
      }
    } else {
      InsertLocked(shard, h, location);
    }
    ++ClassOfLocked(shard, written).cmd_set;
    if (new_cas) *new_cas = pool_.CasOf(location);
  }
  Commit(w, size);
  total_items_.fetch_add(1, std::memory_order_relaxed);
  return Outcome::kStored;
}

Outcome Store::ReadModifyWrite(Writer& w, std::string_view key, uint32_t now, RmwKind kind,
                               PlanFn plan, BuildFn build, uint64_t* new_cas) {
  const uint64_t h = Hash(key);
  Shard& shard = ShardFor(h);
  // Space is reserved before the lock (reserving may evict, which takes shard locks); the plan
  // and the build then happen in one critical section, so concurrent updates of the key never
  // make each other retry. Only a guess that was too small costs another round.
  size_t want = kMaxItemHeader + key.size() + 64;
  for (int attempt = 0; attempt < kMaxRmwAttempts; ++attempt) {
    const uint64_t location = Reserve(w, want, now);
    if (location == 0) return Outcome::kNoMemory;
    size_t written;
    {
      common::MutexLock lock(shard.mu);
      Found f = FindLocked(shard, h, key, now, nullptr);
      if (f.slot == HashIndex::kNotFound) return Outcome::kNotFound;
      Outcome outcome = Outcome::kStored;
      const uint64_t old_cas = CasOf(f.item, f.location);
      const size_t size = plan(f.item, old_cas, &outcome);
      if (size == 0) return outcome;
      if (size > want) {
        want = std::min(std::max(size, want * 2), pool_.segment_size());
        continue;
      }
      written = build(f.item, old_cas, pool_.At(location));
      // Past the planned bound lie another item's bytes: a broken bound is a bug to stop at,
      // not to carry on from.
      if (written > size) std::abort();
      if (kind.outgrew != nullptr) kind.same_version = !*kind.outgrew;
      const uint64_t all_bits = shard.index.accessed_bit() | shard.index.fetched_bit() |
                                shard.index.stale_bit() | shard.index.token_bit();
      const uint64_t keep_bits = kind.same_version ? all_bits
                                 : kind.set_stale
                                     ? shard.index.accessed_bit() | shard.index.fetched_bit()
                                     : 0;
      const ItemRef item = DecodeItem(pool_.At(location));
      RemoveItemLocked(shard, f.location, f.item);
      AddItemLocked(shard, location, item);
      if (kind.new_item) ++ClassOfLocked(shard, item).cmd_set;
      if (kind.counter != nullptr) ++(ClassOfLocked(shard, f.item).*kind.counter);
      shard.index.SetLocation(f.slot, location, keep_bits);
      if (kind.set_stale) shard.index.SetBits(f.slot, shard.index.stale_bit());
      if (new_cas) *new_cas = CasOf(DecodeItem(pool_.At(location)), location);
    }
    Commit(w, written);
    if (kind.new_item) total_items_.fetch_add(1, std::memory_order_relaxed);
    return Outcome::kStored;
  }
  return Outcome::kNoMemory;
}

Outcome Store::Delete(std::string_view key, uint32_t now, uint64_t cas) {
  const uint64_t h = Hash(key);
  Shard& shard = ShardFor(h);
  common::MutexLock lock(shard.mu);
  Found f = FindLocked(shard, h, key, now, nullptr);
  if (f.slot == HashIndex::kNotFound) return Outcome::kNotFound;
  if (cas != 0 && CasOf(f.item, f.location) != cas) return Outcome::kExists;
  ++ClassOfLocked(shard, f.item).delete_hits;
  EraseLocked(shard, f);
  return Outcome::kDeleted;
}

Outcome Store::Touch(Writer& w, std::string_view key, uint32_t exptime, uint32_t now) {
  const uint64_t h = Hash(key);
  Shard& shard = ShardFor(h);
  {
    common::MutexLock lock(shard.mu);
    Found f = FindLocked(shard, h, key, now, nullptr);
    if (f.slot == HashIndex::kNotFound) return Outcome::kNotFound;
    shard.index.SetBits(f.slot, shard.index.accessed_bit());
    ++ClassOfLocked(shard, f.item).touch_hits;
    if (f.item.exptime_offset != 0) {
      StoreExptime(f.item, exptime);
      return Outcome::kTouched;
    }
    if (exptime == 0) return Outcome::kTouched;
  }
  const Outcome rewritten = RewriteExptime(w, key, exptime, 0, now);
  return rewritten == Outcome::kStored ? Outcome::kTouched : rewritten;
}

// The item was stored without an exptime field: write the same version with one, keeping its
// CAS (touch does not make a new version).
Outcome Store::RewriteExptime(Writer& w, std::string_view key, uint32_t exptime,
                              uint64_t expected_cas, uint32_t now) {
  return ReadModifyWrite(
      w, key, now, RmwKind{.new_item = false, .same_version = true, .set_stale = false},
      [&](const ItemRef& old, uint64_t old_cas, Outcome* outcome) -> size_t {
        if (expected_cas != 0 && old_cas != expected_cas) {
          *outcome = Outcome::kExists;
          return 0;
        }
        return RewriteBound(key, old, old.value_len);
      },
      [&](const ItemRef& old, uint64_t old_cas, uint8_t* dst) -> size_t {
        uint8_t* p = EncodeHeaderAndKey({key, old.value_len, old.flags, exptime, old_cas}, dst);
        std::memcpy(p, old.value(), old.value_len);
        return static_cast<size_t>(p + old.value_len - dst);
      });
}

Outcome Store::Arith(Writer& w, std::string_view key, bool incr, uint64_t delta, uint32_t now,
                     uint64_t* result, uint64_t cas, uint64_t* new_cas) {
  char digits[20];
  size_t digits_len = 0;
  bool grows = false;
  return ReadModifyWrite(
      w, key, now,
      RmwKind{.new_item = false,
              .same_version = true,
              .set_stale = false,
              .outgrew = &grows,
              .counter = incr ? &ClassStats::incr_hits : &ClassStats::decr_hits},
      [&](const ItemRef& old, uint64_t old_cas, Outcome* outcome) -> size_t {
        // memcached's order: an empty value, then the CAS, then the number.
        if (old.value_len == 0) {
          *outcome = Outcome::kNonNumeric;
          return 0;
        }
        if (cas != 0 && cas != old_cas) {
          *outcome = Outcome::kExists;
          return 0;
        }
        uint64_t value;
        if (!common::ParseU64(std::string_view(old.value(), old.value_len), &value)) {
          *outcome = Outcome::kNonNumeric;
          return 0;
        }
        if (incr) {
          value += delta;
        } else {
          value = delta > value ? 0 : value - delta;
        }
        *result = value;
        digits_len = common::FormatU64(value, digits);
        grows = digits_len > old.value_len;
        // Like memcached: a result that fits the old length is space-padded to it.
        const uint32_t len =
            digits_len <= old.value_len ? old.value_len : static_cast<uint32_t>(digits_len);
        return RewriteBound(key, old, len);
      },
      [&](const ItemRef& old, uint64_t, uint8_t* dst) -> size_t {
        const uint32_t len =
            digits_len <= old.value_len ? old.value_len : static_cast<uint32_t>(digits_len);
        uint8_t* p = EncodeHeaderAndKey({key, len, old.flags, LoadExptime(old)}, dst);
        // memcached relinks (and counts in total_items) only a result that outgrew the item.
        if (grows) total_items_.fetch_add(1, std::memory_order_relaxed);
        std::memcpy(p, digits, digits_len);
        std::memset(p + digits_len, ' ', len - digits_len);
        return static_cast<size_t>(p + len - dst);
      },
      new_cas);
}

MetaGetResult Store::MetaGet(Writer& w, std::string_view key, uint32_t now,
                             const MetaGetOptions& opts, ReadFn fn) {
  MetaGetResult result;
  // Space for a vivified item is reserved before the lock (reserving may evict).
  const ItemFields stub{key, 0, 0, opts.vivify_exptime};
  const uint64_t stub_location = opts.vivify && config_.size_rule.Fits(key.size(), 0, 0)
                                     ? Reserve(w, EncodedSize(stub), now)
                                     : 0;
  const uint64_t h = Hash(key);
  Shard& shard = ShardFor(h);
  uint64_t seen_cas = 0;
  {
    common::MutexLock lock(shard.mu);
    bool expired;
    Found f = FindLocked(shard, h, key, now, &expired);
    if (f.slot == HashIndex::kNotFound) {
      result.status = expired ? ReadStatus::kExpired : ReadStatus::kMiss;
      if (stub_location == 0) return result;
      EncodeHeaderAndKey(stub, pool_.At(stub_location));
      InsertLocked(shard, h, stub_location);
      Commit(w, EncodedSize(stub));
      total_items_.fetch_add(1, std::memory_order_relaxed);
      // Found by location, not FindLocked: an N with a past TTL creates an item that is already
      // expired, yet this request still answers with it (as memcached does).
      f.slot = shard.index.Find(h, [&](uint64_t l) { return l == stub_location; });
      f.location = stub_location;
      f.item = DecodeItem(pool_.At(stub_location));
      if (opts.claim_token) shard.index.SetBits(f.slot, shard.index.token_bit());
      result.created = result.won = true;
      ItemView view = ViewOf(f, shard);
      view.token_sent = false;  // the token is this request's
      view.won = true;
      view.created = true;
      fn(view);
      if (!opts.no_bump)
        shard.index.SetBits(f.slot, shard.index.accessed_bit() | shard.index.fetched_bit());
      return result;
    }
    result.status = ReadStatus::kHit;
    const bool token_sent = shard.index.HasBits(f.slot, shard.index.token_bit());
    const bool stale = shard.index.HasBits(f.slot, shard.index.stale_bit());
    const uint32_t exptime = LoadExptime(f.item);
    if (!token_sent && ((opts.recache && exptime != 0 && exptime < opts.recache_before) || stale)) {
      result.won = true;
    }
    ItemView view = ViewOf(f, shard);
    view.won = result.won;
    fn(view);
    if (result.won && opts.claim_token) shard.index.SetBits(f.slot, shard.index.token_bit());
    if (!opts.no_bump)
      shard.index.SetBits(f.slot, shard.index.accessed_bit() | shard.index.fetched_bit());
    ++(opts.touch ? ClassOfLocked(shard, f.item).touch_hits
                  : ClassOfLocked(shard, f.item).get_hits);
    if (!opts.touch) return result;
    if (f.item.exptime_offset != 0) {
      StoreExptime(f.item, opts.exptime);
      return result;
    }
    if (opts.exptime == 0) return result;
    seen_cas = CasOf(f.item, f.location);
  }
  RewriteExptime(w, key, opts.exptime, seen_cas, now);
  return result;
}

Outcome Store::Invalidate(Writer& w, std::string_view key, uint64_t cas, bool set_exptime,
                          uint32_t exptime, uint32_t now) {
  return ReadModifyWrite(
      w, key, now, RmwKind{.new_item = false, .same_version = false, .set_stale = true},
      [&](const ItemRef& old, uint64_t old_cas, Outcome* outcome) -> size_t {
        if (cas != 0 && cas != old_cas) {
          *outcome = Outcome::kExists;
          return 0;
        }
        return RewriteBound(key, old, old.value_len);
      },
      [&](const ItemRef& old, uint64_t, uint8_t* dst) -> size_t {
        const uint32_t e = set_exptime ? exptime : LoadExptime(old);
        uint8_t* p = EncodeHeaderAndKey({key, old.value_len, old.flags, e}, dst);
        std::memcpy(p, old.value(), old.value_len);
        return static_cast<size_t>(p + old.value_len - dst);
      });
}

void Store::Flush() {
  // Under the eviction mutex, so that no eviction is between checking an item and moving it
  // into a renewed segment (which would carry it past the flush).
  common::MutexLock evict_lock(evict_mu_);
  flush_epoch_.store(pool_.next_epoch(), std::memory_order_release);
  LeaveFlushedSegment(main_tail_);
  // Every item a prefix rule covers is older than the flush: the rules have nothing left to do.
  common::MutexLock rules_lock(rules_mu_);
  for (const auto& rule : rules_) EndRuleLocked(*rule);
  rules_.clear();
  rules_active_.store(0, std::memory_order_relaxed);
  rules_version_.fetch_add(1, std::memory_order_release);
}

size_t Store::CrawlShard(size_t shard_id, size_t from, size_t max_slots, uint32_t now,
                         const std::vector<bool>& wanted, std::vector<uint64_t>* budget, bool full,
                         Writer* w) {
  // Items a stale rule gave an exptime they have no field for: written again once the shard
  // lock is released, as the same version (a client's write since then wins).
  RetimeList retimes;
  const size_t next = CrawlShardLocked(shard_id, from, max_slots, now, wanted, budget, full,
                                       w != nullptr ? &retimes : nullptr);
  for (const auto& [key, cas, exptime] : retimes) RewriteExptime(*w, key, exptime, cas, now);
  return next;
}

size_t Store::CrawlShardLocked(size_t shard_id, size_t from, size_t max_slots, uint32_t now,
                               const std::vector<bool>& wanted, std::vector<uint64_t>* budget,
                               bool full, RetimeList* retimes) {
  Shard& shard = *shards_[shard_id];
  common::MutexLock lock(shard.mu);
  HashIndex& ix = shard.index;
  if (full && (from == 0 || ix.capacity() != shard.sweep_capacity)) {
    // A grown index moved entries behind the crawl: start the shard again to retire rules.
    from = 0;
    SyncRulesLocked(shard);
    shard.sweep_seq = shard.rules.empty() ? 0 : shard.rules.back()->seq;
    shard.sweep_capacity = ix.capacity();
  }
  const size_t end = std::min(ix.capacity(), from + max_slots);
  size_t i = from;
  // Items lie at random in the arena: keep kCrawlLookahead slots' items loading ahead of the
  // walk, so that their cache misses overlap (measured: a 10M-item sweep takes ~2.5x less).
  constexpr size_t kCrawlLookahead = 16;
  for (size_t j = from; j < std::min(end, from + kCrawlLookahead); ++j) {
    if (const uint64_t e = ix.entry_at(j)) __builtin_prefetch(pool_.At(ix.Location(e)));
  }
  while (i < end) {
    if (i + kCrawlLookahead < end) {
      if (const uint64_t ahead = ix.entry_at(i + kCrawlLookahead)) {
        __builtin_prefetch(pool_.At(ix.Location(ahead)));
      }
    }
    const uint64_t e = ix.entry_at(i);
    if (e == 0) {
      ++i;
      continue;
    }
    const uint64_t location = ix.Location(e);
    const ItemRef item = DecodeItem(pool_.At(location));
    const size_t cls = static_cast<size_t>(config_.classes.ClassOf(RequestedSize(item)));
    if ((!wanted.empty() && !wanted[cls]) || (*budget)[cls] == 0) {
      ++i;
      continue;
    }
    --(*budget)[cls];
    ClassStats& c = shard.classes[cls];
    ++c.crawler_items_checked;
    crawler_items_checked_.fetch_add(1, std::memory_order_relaxed);
    const bool flushed = FlushedAt(location);
    uint32_t retime = 0;
    if (!flushed &&
        ApplyRulesLocked(shard, i, item, location, retimes != nullptr ? &retime : nullptr)) {
      continue;  // i holds another item now
    }
    if (retime != 0) retimes->emplace_back(std::string(item.key), CasOf(item, location), retime);
    if (!flushed && !Expired(LoadExptime(item), now)) {
      ++i;
      continue;
    }
    ++c.crawler_reclaimed;
    crawler_reclaimed_.fetch_add(1, std::memory_order_relaxed);
    if (!flushed && !ix.HasBits(i, ix.fetched_bit())) {
      expired_unfetched_.fetch_add(1, std::memory_order_relaxed);
      ++c.expired_unfetched;
    }
    RemoveItemLocked(shard, location, item);
    // Backward-shift deletion may move a later entry into slot i: look at i again.
    ix.EraseAt(i);
  }
  if (end < ix.capacity()) return end;
  if (full && shard.sweep_seq != 0) RetireRulesLocked(shard, shard.sweep_seq);
  return kListDone;
}

void ClassStats::Add(const ClassStats& o) {
  items += o.items;
  requested += o.requested;
  evicted += o.evicted;
  evicted_nonzero += o.evicted_nonzero;
  evicted_unfetched += o.evicted_unfetched;
  evicted_time = std::max(evicted_time, o.evicted_time);
  reclaimed += o.reclaimed;
  expired_unfetched += o.expired_unfetched;
  crawler_reclaimed += o.crawler_reclaimed;
  crawler_items_checked += o.crawler_items_checked;
  get_hits += o.get_hits;
  cmd_set += o.cmd_set;
  delete_hits += o.delete_hits;
  incr_hits += o.incr_hits;
  decr_hits += o.decr_hits;
  cas_hits += o.cas_hits;
  cas_badval += o.cas_badval;
  touch_hits += o.touch_hits;
}

std::vector<ClassStats> Store::ClassTotals() const {
  std::vector<ClassStats> out(static_cast<size_t>(config_.classes.count()) + 1);
  for (const auto& shard : shards_) {
    common::MutexLock lock(shard->mu);
    for (size_t i = 0; i < out.size(); ++i) out[i].Add(shard->classes[i]);
  }
  return out;
}

size_t Store::ListShard(size_t shard_id, size_t from, size_t max_items, uint32_t now,
                        ListFn fn) const {
  const Shard& shard = *shards_[shard_id];
  common::MutexLock lock(shard.mu);
  const HashIndex& ix = shard.index;
  size_t visited = 0;
  for (size_t i = from; i < ix.capacity(); ++i) {
    if (visited == max_items) return i;
    const uint64_t e = ix.entry_at(i);
    if (e == 0) continue;
    const uint64_t location = ix.Location(e);
    const ItemRef item = DecodeItem(pool_.At(location));
    const uint32_t exptime = LoadExptime(item);
    if (Expired(exptime, now) || FlushedAt(location) ||
        RuleLocked(shard, item, location) == RuleEffect::kDrop) {
      continue;
    }
    const size_t requested = RequestedSize(item);
    fn(ListedItem{item.key, item.value_len, exptime, CasOf(item, location),
                  ix.HasBits(i, ix.fetched_bit()), pool_.WrittenAt(location),
                  config_.classes.ClassOf(requested), static_cast<uint32_t>(requested)});
    ++visited;
  }
  return kListDone;
}

StoreStats Store::Stats() const {
  StoreStats s;
  for (const auto& shard : shards_) {
    common::MutexLock lock(shard->mu);
    s.curr_items += shard->index.size();
    s.bytes += shard->bytes;
  }
  s.total_items = total_items_.load(std::memory_order_relaxed);
  s.evictions = evictions_.load(std::memory_order_relaxed);
  s.evicted_unfetched = evicted_unfetched_.load(std::memory_order_relaxed);
  s.reclaimed = reclaimed_.load(std::memory_order_relaxed);
  s.expired_unfetched = expired_unfetched_.load(std::memory_order_relaxed);
  s.get_flushed = get_flushed_.load(std::memory_order_relaxed);
  s.crawler_reclaimed = crawler_reclaimed_.load(std::memory_order_relaxed);
  s.crawler_items_checked = crawler_items_checked_.load(std::memory_order_relaxed);
  s.flush_prefix_items = flush_prefix_items_.load(std::memory_order_relaxed);
  s.flush_prefix_rules_active = rules_active_.load(std::memory_order_relaxed);
  s.index_bytes = pool_.index_bytes();
  s.segments_in_use = pool_.segments_in_use();
  s.segment_size = pool_.segment_size();
  s.limit_bytes = pool_.memory_limit();
  return s;
}

}  // namespace cachet::storage
