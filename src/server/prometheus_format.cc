#include "server/prometheus_format.h"

#include <unistd.h>

#include <cstdio>
#include <string_view>

#include "server/general_stats.h"

namespace cachet::server {
namespace {

// General stats that are levels, not running totals.
bool IsGauge(std::string_view name) {
  for (std::string_view g : {"pid",
                             "uptime",
                             "time",
                             "pointer_size",
                             "max_connections",
                             "curr_connections",
                             "connection_structures",
                             "response_obj_count",
                             "response_obj_bytes",
                             "read_buf_count",
                             "read_buf_bytes",
                             "read_buf_bytes_free",
                             "reserved_fds",
                             "limit_maxbytes",
                             "accepting_conns",
                             "threads",
                             "hash_power_level",
                             "hash_bytes",
                             "hash_is_expanding",
                             "slab_reassign_running",
                             "lru_crawler_running",
                             "log_watchers",
                             "bytes",
                             "curr_items",
                             "slab_global_page_pool",
                             "rusage_user",
                             "rusage_system",
                             "restart_loaded_items",
                             "restart_expired_items",
                             "restart_load_ms",
                             "snapshot_last_ms",
                             "snapshot_last_bytes",
                             "flush_prefix_rules_active",
                             "flush_prefix_max_rules"}) {
    if (name == g) return true;
  }
  return false;
}

bool IsNumber(std::string_view v) {
  if (v.empty()) return false;
  int dots = 0;
  for (char c : v) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots <= 1;  // "1.6.18" (version) is not a number
}

void Metric(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

}  // namespace

std::string FormatPrometheus(ServerContext& server) {
  std::string out;
  out.reserve(16 * 1024);
  VisitGeneralStats(server, [&](std::string_view name, std::string_view value) {
    if (!IsNumber(value) || name == "pid" || name == "time") return;
    const bool gauge = IsGauge(name);
    std::string metric = "cachet_";
    metric.append(name);
    if (!gauge) metric.append("_total");
    Metric(out, metric, gauge ? "gauge" : "counter", std::string("memcached's stat ").append(name));
    out.append(metric).append(" ").append(value).append("\n");
  });

  // The warm-restart states as info-style series: the text is the label.
  if (const MemoryFile* file = server.memory_file()) {
    const auto state = [&](std::string_view name, std::string_view help, std::string_view v) {
      Metric(out, name, "gauge", help);
      out.append(name).append("{status=\"");
      for (const char c : v) {
        if (c == '"' || c == '\\') out.push_back('\\');
        out.push_back(c);
      }
      out.append("\"} 1\n");
    };
    state("cachet_restart_status", "How the cache started: clean, loaded or rejected:<reason>",
          file->restart_stats().status);
    state("cachet_snapshot_last_status", "The last save of the memory file: none, ok or failed",
          file->snapshot_stats().last_status);
  }

  const storage::SizeClasses& sizes = server.store().size_classes();
  const std::vector<storage::ClassStats> classes = server.ClassTotals();
  struct PerClass {
    const char* name;
    const char* type;
    const char* help;
    uint64_t storage::ClassStats::*field;
  };
  for (const PerClass& p : {PerClass{"cachet_class_items", "gauge", "Items per size class",
                                     &storage::ClassStats::items},
                            PerClass{"cachet_class_requested_bytes", "gauge",
                                     "Item sizes per size class (memcached's mem_requested)",
                                     &storage::ClassStats::requested},
                            PerClass{"cachet_class_evictions_total", "counter",
                                     "Evictions per size class", &storage::ClassStats::evicted},
                            PerClass{"cachet_class_get_hits_total", "counter",
                                     "Get hits per size class", &storage::ClassStats::get_hits}}) {
    Metric(out, p.name, p.type, p.help);
    for (size_t id = 1; id < classes.size(); ++id) {
      const storage::ClassStats& c = classes[id];
      if (c.items == 0 && c.cmd_set == 0 && c.evicted == 0) continue;
      char line[160];
      const int n = std::snprintf(line, sizeof(line), "%s{class=\"%zu\",chunk_size=\"%u\"} %llu\n",
                                  p.name, id, sizes.chunk_size(static_cast<int>(id)),
                                  static_cast<unsigned long long>(c.*p.field));
      out.append(line, static_cast<size_t>(n));
    }
  }

  // Resident memory, to compare with -m (statm's second field, in pages).
  long pages = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    long size = 0;
    if (std::fscanf(f, "%ld %ld", &size, &pages) != 2) pages = 0;
    std::fclose(f);
  }
  Metric(out, "cachet_resident_memory_bytes", "gauge", "Resident set size of the process");
  out.append("cachet_resident_memory_bytes ")
      .append(std::to_string(pages * ::sysconf(_SC_PAGESIZE)))
      .append("\n");
  return out;
}

}  // namespace cachet::server
