#include "server/key_listing.h"

#include <cstdio>

#include "protocol/uri_encode.h"
#include "server/session_action.h"

namespace cachet::server {
namespace {
constexpr size_t kItemsPerStep = 1024;  // bounds how long one step holds a shard lock
constexpr size_t kStepsPerCall = 64;
}  // namespace

void KeyListing::StartCacheDump(int size_class, uint64_t limit) {
  *this = KeyListing{};
  active_ = true;
  kind_ = Kind::kCacheDump;
  classes_.set(static_cast<size_t>(size_class));
  limit_ = limit;
}

void KeyListing::StartMetaDump(const ClassSet& classes) {
  *this = KeyListing{};
  active_ = true;
  kind_ = Kind::kMetaDump;
  classes_ = classes;
}

bool KeyListing::Continue(ServerContext& server, common::ByteBuffer& out) {
  storage::Store& store = server.store();
  const ServerTime& time = server.time();
  const uint32_t now = time.Now();
  const int64_t started = time.started();
  auto emit = [&](const storage::ListedItem& item) {
    if (!classes_.test(static_cast<size_t>(item.size_class))) return;
    if (limit_ != 0 && listed_ >= limit_) return;
    ++listed_;
    char buf[160];
    int n;
    if (kind_ == Kind::kCacheDump) {
      out.Append("ITEM ");
      out.Append(item.key);
      const unsigned long long exp =
          item.exptime == 0 ? 0 : static_cast<unsigned long long>(item.exptime + started);
      n = std::snprintf(buf, sizeof(buf), " [%u b; %llu s]\r\n", item.value_len, exp);
    } else {
      out.Append("key=");
      protocol::AppendUriEncoded(out, item.key);
      const long long exp = item.exptime == 0 ? -1 : static_cast<long long>(item.exptime + started);
      n = std::snprintf(buf, sizeof(buf), " exp=%lld la=%llu cas=%llu fetch=%s cls=%d size=%u\n",
                        exp, static_cast<unsigned long long>(item.written_at + started),
                        static_cast<unsigned long long>(item.cas), item.fetched ? "yes" : "no",
                        item.size_class, item.size);
    }
    out.Append(std::string_view(buf, static_cast<size_t>(n)));
  };
  // Bounded work per call even when few items match (a class with no items walks the whole
  // index): the caller yields to its worker's other connections and comes back.
  size_t steps = 0;
  while (shard_ < store.shard_count()) {
    if (out.size() >= kOutputHighWater || ++steps > kStepsPerCall) return false;
    if (limit_ != 0 && listed_ >= limit_) break;
    slot_ = store.ListShard(shard_, slot_, kItemsPerStep, now, emit);
    if (slot_ == storage::Store::kListDone) {
      ++shard_;
      slot_ = 0;
    }
  }
  out.Append("END\r\n");
  active_ = false;
  return true;
}

}  // namespace cachet::server
