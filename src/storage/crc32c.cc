#include "storage/crc32c.h"

#include <isa-l/crc.h>

#include <algorithm>
#include <climits>

namespace cachet::storage {

uint32_t Crc32c(const void* data, size_t n, uint32_t crc) {
  // ISA-L keeps the register un-inverted between calls; the standard value inverts both ends.
  unsigned int state = ~crc;
  auto* p = static_cast<unsigned char*>(const_cast<void*>(data));  // ISA-L only reads it
  while (n > 0) {
    const size_t step = std::min<size_t>(n, size_t{1} << 30);  // its length is an int
    state = crc32_iscsi(p, static_cast<int>(step), state);
    p += step;
    n -= step;
  }
  return ~state;
}

}  // namespace cachet::storage
