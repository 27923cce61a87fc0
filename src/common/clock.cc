#include "common/clock.h"

#include <ctime>

namespace cachet::common {

int64_t SystemClock::UnixNow() const { return static_cast<int64_t>(::time(nullptr)); }

}  // namespace cachet::common
