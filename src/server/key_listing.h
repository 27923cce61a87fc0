#pragma once
// Key listing for operators: `stats cachedump <class> <limit>` and `lru_crawler metadump`.
// Unlike memcached (which lists only items outside its HOT LRU and caps cachedump at 2 MB),
// every live key is listed, from the moment it is set. The listing walks the store a few
// thousand entries at a time and pauses whenever the connection's output passes the high-water
// mark, so a huge cache costs bounded memory and never holds other clients up.
#include <cstdint>
#include <string_view>

#include "common/byte_buffer.h"
#include "protocol/operator_request.h"
#include "server/server_context.h"
#include "storage/size_classes.h"

namespace cachet::server {

class KeyListing {
 public:
  using ClassSet = protocol::SlabClassSet;
  static_assert(protocol::kMaxSlabClassId == storage::SizeClasses::kMaxClasses);

  // cachedump: `ITEM <key> [<bytes> b; <exptime> s]` lines of one class; limit 0 = all.
  void StartCacheDump(int size_class, uint64_t limit);
  // metadump: `key=<urlencoded> exp=<abs|-1> la=<abs> cas=<n> fetch=<yes|no> cls=<id>
  // size=<n>` lines of the classes given.
  void StartMetaDump(const ClassSet& classes);
  bool active() const { return active_; }

  // Appends lines; true when the listing finished (its END written), false when it paused,
  // because `out` passed the high-water mark or after a bounded amount of work (call again once
  // the output drained / after other connections had a turn).
  bool Continue(ServerContext& server, common::ByteBuffer& out);

 private:
  enum class Kind : uint8_t { kCacheDump, kMetaDump };
  bool active_ = false;
  Kind kind_ = Kind::kCacheDump;
  ClassSet classes_;
  uint64_t limit_ = 0;
  uint64_t listed_ = 0;
  size_t shard_ = 0;
  size_t slot_ = 0;
};

}  // namespace cachet::server
