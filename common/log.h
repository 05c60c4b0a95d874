#pragma once
// Minimal structured logging to stderr: one line per event, with wall-clock time, level
// and the instance name, written with a single write(2) so lines from several threads
// or processes never interleave. As text for people, or as one JSON object per line
// (log.format=json) for a log pipeline: {"ts":...,"level":...,"instance":...,"message":...}.

#include <string_view>

#include <fmt/format.h>

namespace couponflow::log {

enum class Level { kDebug, kInfo, kWarn, kError };
enum class Format { kText, kJson };

/// Names this process in every line (e.g. the processor's instance id). Call once at start.
void set_instance(std::string_view name);
/// Names the calling thread in its lines, after the instance ("b/StreamThread-2"; in
/// JSON a "thread" field): for an instance of several stream threads.
void set_thread(std::string_view name);
void set_min_level(Level level);
void set_format(Format format);
bool enabled(Level level);
void write(Level level, std::string_view message);

template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::kDebug)) write(Level::kDebug, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::kInfo)) write(Level::kInfo, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::kWarn)) write(Level::kWarn, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::kError)) write(Level::kError, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace couponflow::log
