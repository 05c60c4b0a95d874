#pragma once
// What an instance reports for programs as it happens: task state changes, restores and
// the address its status endpoints listen on. Kafka Streams hands the same facts to its
// state and restore listeners; here they go to a file of JSON lines that another process
// (a fleet of instances in the demo, drills, benchmarks and tests) can read while the
// instance runs, and after it was killed. Logs are for people and may change wording.

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/types.h"
#include "processor/task.h"

namespace couponflow::processor {

/// The events of an events file. Their names (to_string) are the file's vocabulary,
/// shared by the writer below and every reader (ops/instance_events_reader.h).
enum class InstanceEventKind { kListening, kTaskState, kRestoreStarted, kTaskRestored };
std::string_view to_string(InstanceEventKind kind);
/// The event to_string names `name`; nullopt for any other text (an event added later).
std::optional<InstanceEventKind> instance_event_kind_from_string(std::string_view name);

/// Role: appends one JSON object per line to a file, each with "time_ms" (wall clock,
/// ms since the epoch) and "event":
///   {"event":"listening","what":"status","address":"HOST:PORT"}
///   {"event":"task_state","task":"0_3","partition":3,"from":"RESTORING","to":"RUNNING"}
///   {"event":"restore_started","task":"0_3","partition":3,"store":"issued","from_offset":0,"to_offset":10}
///   {"event":"task_restored","task":"0_3","partition":3,"records":10,"bytes":420,"millis":15}
/// Fields may be added; none is removed or changes meaning.
/// Each line is one write(2) on a file opened with O_APPEND: lines of several threads
/// never mix, and a killed process leaves only whole lines behind.
/// Thread: any. Errors: the constructor throws FatalError when the file cannot be opened;
/// a failed write is logged once and the events after it are dropped (they are not
/// worth stopping the instance for).
class InstanceEvents {
 public:
  explicit InstanceEvents(const std::filesystem::path& path);
  ~InstanceEvents();
  InstanceEvents(const InstanceEvents&) = delete;
  InstanceEvents& operator=(const InstanceEvents&) = delete;

  /// What `listening` reports for the status and metrics endpoints.
  static constexpr std::string_view kStatusEndpoints = "status";

  void listening(std::string_view what, std::string_view address);
  void task_state(TaskId task, TaskState from, TaskState to);
  void restore_started(TaskId task, std::string_view store, Offset from, Offset to);
  /// A task's restore, all its stores together, from its start until the task runs
  /// (reported only when it read records).
  void task_restored(TaskId task, int64_t records, int64_t bytes, int64_t millis);

 private:
  std::string begin(InstanceEventKind event) const;
  void append(std::string line);

  std::filesystem::path path_;
  int fd_ = -1;
  std::mutex mutex_;
  bool failed_ = false;
};

}  // namespace couponflow::processor
