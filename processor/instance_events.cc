#include "processor/instance_events.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "common/errors.h"
#include "common/json_string.h"
#include "common/log.h"

namespace couponflow::processor {

namespace {

void append_task(std::string& line, TaskId task) {
  fmt::format_to(std::back_inserter(line), ",\"task\":\"{}\",\"partition\":{}", task.str(), task.partition.value);
}

}  // namespace

std::string_view to_string(InstanceEventKind kind) {
  switch (kind) {
    case InstanceEventKind::kListening: return "listening";
    case InstanceEventKind::kTaskState: return "task_state";
    case InstanceEventKind::kRestoreStarted: return "restore_started";
    case InstanceEventKind::kTaskRestored: return "task_restored";
  }
  return "?";
}

std::optional<InstanceEventKind> instance_event_kind_from_string(std::string_view name) {
  for (InstanceEventKind kind : {InstanceEventKind::kListening, InstanceEventKind::kTaskState,
                                 InstanceEventKind::kRestoreStarted, InstanceEventKind::kTaskRestored}) {
    if (to_string(kind) == name) return kind;
  }
  return std::nullopt;
}

InstanceEvents::InstanceEvents(const std::filesystem::path& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) throw FatalError(fmt::format("cannot open events file {}: {}", path.string(), std::strerror(errno)));
}

InstanceEvents::~InstanceEvents() {
  if (fd_ >= 0) ::close(fd_);
}

std::string InstanceEvents::begin(InstanceEventKind event) const {
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return fmt::format("{{\"time_ms\":{},\"event\":\"{}\"", now, to_string(event));
}

void InstanceEvents::append(std::string line) {
  line += "}\n";
  std::lock_guard lock(mutex_);
  if (failed_) return;
  // One write per line: with O_APPEND it lands whole at the end of the file.
  const ssize_t n = ::write(fd_, line.data(), line.size());
  if (n != static_cast<ssize_t>(line.size())) {
    failed_ = true;
    log::warn("cannot write to events file {} ({}); no more events are written",
              path_.string(), n < 0 ? std::strerror(errno) : "short write");
  }
}

void InstanceEvents::listening(std::string_view what, std::string_view address) {
  std::string line = begin(InstanceEventKind::kListening);
  line += ",\"what\":";
  append_json_string(line, what);
  line += ",\"address\":";
  append_json_string(line, address);
  append(std::move(line));
}

void InstanceEvents::task_state(TaskId task, TaskState from, TaskState to) {
  std::string line = begin(InstanceEventKind::kTaskState);
  append_task(line, task);
  fmt::format_to(std::back_inserter(line), ",\"from\":\"{}\",\"to\":\"{}\"", to_string(from), to_string(to));
  append(std::move(line));
}

void InstanceEvents::restore_started(TaskId task, std::string_view store, Offset from, Offset to) {
  std::string line = begin(InstanceEventKind::kRestoreStarted);
  append_task(line, task);
  line += ",\"store\":";
  append_json_string(line, store);
  fmt::format_to(std::back_inserter(line), ",\"from_offset\":{},\"to_offset\":{}", from.value, to.value);
  append(std::move(line));
}

void InstanceEvents::task_restored(TaskId task, int64_t records, int64_t bytes, int64_t millis) {
  std::string line = begin(InstanceEventKind::kTaskRestored);
  append_task(line, task);
  fmt::format_to(std::back_inserter(line), ",\"records\":{},\"bytes\":{},\"millis\":{}", records, bytes, millis);
  append(std::move(line));
}

}  // namespace couponflow::processor
