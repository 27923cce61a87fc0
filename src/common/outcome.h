#pragma once
// Results of storage operations. Each protocol maps these to its own wire strings in one place.
#include <cstdint>

namespace cachet::common {

enum class Outcome : uint8_t {
  kStored,
  kNotStored,
  kExists,  // CAS mismatch
  kNotFound,
  kDeleted,
  kTouched,
  kTooLarge,  // the item can never fit
  kNoMemory,  // no room and eviction is disabled (-M) or impossible
  kNonNumeric,
};

}  // namespace cachet::common
