#include "server/prefix_stats.h"

namespace cachet::server {

void PrefixStats::Record(std::string_view key, int gets, int hits, int sets, int deletes) {
  const size_t cut = key.find(delimiter_);
  if (cut == std::string_view::npos) return;  // no prefix: not recorded, as memcached
  const std::string prefix(key.substr(0, cut));
  common::MutexLock lock(mu_);
  auto it = by_prefix_.find(prefix);
  if (it == by_prefix_.end()) {
    if (by_prefix_.size() >= kMaxPrefixes) return;
    it = by_prefix_.emplace(prefix, Counters{}).first;
  }
  it->second.gets += static_cast<uint64_t>(gets);
  it->second.hits += static_cast<uint64_t>(hits);
  it->second.sets += static_cast<uint64_t>(sets);
  it->second.deletes += static_cast<uint64_t>(deletes);
}

std::string PrefixStats::Dump() const {
  std::string out;
  common::MutexLock lock(mu_);
  for (const auto& [prefix, c] : by_prefix_) {
    out += "PREFIX " + prefix + " get " + std::to_string(c.gets) + " hit " +
           std::to_string(c.hits) + " set " + std::to_string(c.sets) + " del " +
           std::to_string(c.deletes) + "\r\n";
  }
  out += "END\r\n";
  return out;
}

void PrefixStats::Clear() {
  common::MutexLock lock(mu_);
  by_prefix_.clear();
}

}  // namespace cachet::server
