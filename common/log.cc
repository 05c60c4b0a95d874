#include "common/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>

#include "common/json_string.h"
#include "common/utc_time.h"

namespace couponflow::log {
namespace {

std::atomic<Level> g_min_level{Level::kInfo};
std::atomic<Format> g_format{Format::kText};
std::mutex g_instance_mutex;
std::string g_instance = "couponflow";
thread_local std::string t_thread;

std::string_view level_name(Level level) {
  switch (level) {
    case Level::kDebug: return "DEBUG";
    case Level::kInfo: return "INFO";
    case Level::kWarn: return "WARN";
    case Level::kError: return "ERROR";
  }
  return "?";
}

}  // namespace

void set_instance(std::string_view name) {
  std::lock_guard lock(g_instance_mutex);
  g_instance = name;
}

void set_thread(std::string_view name) { t_thread = name; }

void set_min_level(Level level) { g_min_level = level; }

void set_format(Format format) { g_format = format; }

bool enabled(Level level) { return level >= g_min_level.load(std::memory_order_relaxed); }

void write(Level level, std::string_view message) {
  using namespace std::chrono;
  const std::string ts = format_utc_millis(duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
  std::string instance;
  {
    std::lock_guard lock(g_instance_mutex);
    instance = g_instance;
  }
  std::string line;
  if (g_format.load(std::memory_order_relaxed) == Format::kJson) {
    // Messages may quote hostile input: append_json_string keeps the line valid JSON.
    line = fmt::format(R"({{"ts":"{}","level":"{}","instance":)", ts, level_name(level));
    append_json_string(line, instance);
    if (!t_thread.empty()) {
      line += R"(,"thread":)";
      append_json_string(line, t_thread);
    }
    line += R"(,"message":)";
    append_json_string(line, message);
    line += "}\n";
  } else {
    line = fmt::format("{} {:5} [{}{}{}] {}\n", ts, level_name(level), instance, t_thread.empty() ? "" : "/",
                       t_thread, message);
  }
  // One write per line keeps lines whole when several threads or processes share stderr.
  [[maybe_unused]] auto written = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace couponflow::log
