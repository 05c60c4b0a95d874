#include "ops/http/process_collector.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>

#include "common/build_info.h"

namespace couponflow::ops {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

/// The fields of /proc/self/stat this collector reads (proc(5): utime, stime,
/// starttime in clock ticks, vsize in bytes, rss in pages).
struct ProcStat {
  double utime_ticks = 0, stime_ticks = 0, start_ticks = 0, vsize_bytes = 0, rss_pages = 0;
};

std::optional<ProcStat> read_proc_stat() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  // The command name (field 2) is in parentheses and may contain spaces and ')'.
  const auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(line.substr(close + 1));
  std::string f;
  ProcStat s;
  for (int field = 3; fields >> f; ++field) {
    switch (field) {
      case 14: s.utime_ticks = std::stod(f); break;
      case 15: s.stime_ticks = std::stod(f); break;
      case 22: s.start_ticks = std::stod(f); break;
      case 23: s.vsize_bytes = std::stod(f); break;
      case 24: s.rss_pages = std::stod(f); return s;
      default: break;
    }
  }
  return std::nullopt;
}

/// Boot time in seconds since the epoch (/proc/stat "btime").
std::optional<double> boot_time() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime" && in >> value) return value;
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return std::nullopt;
}

std::optional<double> open_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return std::nullopt;
  double n = 0;
  while (const dirent* e = ::readdir(dir)) n += e->d_name[0] == '.' ? 0 : 1;
  ::closedir(dir);
  return n - 1;  // the directory stream's own descriptor
}

MetricFamily family(std::string name, std::string help, MetricType type, double value,
                    std::vector<ClientMetric::Label> labels = {}) {
  MetricFamily f{std::move(name), std::move(help), type, {}};
  ClientMetric m;
  m.label = std::move(labels);
  if (type == MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(std::move(m));
  return f;
}

}  // namespace

std::vector<MetricFamily> ProcessCollector::Collect() const {
  std::vector<MetricFamily> out;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  if (const auto s = read_proc_stat()) {
    out.push_back(family("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                         MetricType::Counter, (s->utime_ticks + s->stime_ticks) / ticks));
    out.push_back(family("process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge,
                         s->rss_pages * page));
    out.push_back(family("process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge,
                         s->vsize_bytes));
    if (const auto boot = boot_time()) {
      out.push_back(family("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
                           MetricType::Gauge, *boot + s->start_ticks / ticks));
    }
  }
  if (const auto fds = open_fds()) {
    out.push_back(family("process_open_fds", "Number of open file descriptors.", MetricType::Gauge, *fds));
  }
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    out.push_back(family("process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge,
                         static_cast<double>(limit.rlim_cur)));
  }
  out.push_back(family("couponflow_build_info",
                       "The version, git revision and allocator of this binary (always 1).", MetricType::Gauge, 1,
                       {{"version", std::string(build_version())},
                        {"revision", std::string(build_revision())},
                        {"allocator", allocator_in_use()}}));
  return out;
}

}  // namespace couponflow::ops
