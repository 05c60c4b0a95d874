#pragma once
// Reads back what an instance wrote with --events-file (processor/instance_events.h
// defines the lines): how the fleet tools and tests learn task ownership, restores and
// the status address without reading logs.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "processor/instance_events.h"
#include "processor/task.h"

namespace couponflow::ops {

/// One line of an events file, as read back. Fields an event does not have keep their
/// defaults.
struct InstanceEvent {
  int64_t time_ms = 0;
  processor::InstanceEventKind kind = processor::InstanceEventKind::kListening;
  std::string what, address;                        // kListening
  int partition = -1;                               // the task events
  std::optional<processor::TaskState> from, to;     // kTaskState; nullopt: absent, or a state this reader does not know
  std::string store;                                // kRestoreStarted
  int64_t from_offset = 0, to_offset = 0;           // kRestoreStarted
  int64_t records = 0, bytes = 0, millis = 0;       // kTaskRestored
};

/// Role: follows one events file as its instance appends to it; each call reads only
/// the lines added since the previous one, so polling a long-lived file stays cheap.
/// The file is only ever appended to (processor/instance_events.h); a file shorter than
/// what was read (replaced, truncated) is read again from its start, but one replaced by
/// a file at least as long goes unnoticed.
/// Thread: one at a time.
class InstanceEventsFile {
 public:
  explicit InstanceEventsFile(std::filesystem::path path) : path_(std::move(path)) {}

  /// Every event read so far, in order, after reading what was appended since the last
  /// call: none while the file does not exist yet (a file that disappears keeps what was
  /// read). A line still being written (no newline yet) waits for the next call; a line
  /// that is not an event this reader knows (not JSON, no event, an event added later) is
  /// skipped. The reference is valid until the next call.
  const std::vector<InstanceEvent>& read();

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  uint64_t consumed_ = 0;  // bytes of the whole lines read so far
  std::vector<InstanceEvent> events_;
};

/// The events written to `path` so far: InstanceEventsFile(path).read() for a one-off look.
std::vector<InstanceEvent> read_instance_events(const std::filesystem::path& path);

}  // namespace couponflow::ops
