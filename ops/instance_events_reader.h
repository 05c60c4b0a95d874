#pragma once
// Reads back what an instance wrote with --events-file (processor/instance_events.h
// defines the lines): how the fleet tools and tests learn task ownership, restores and
// the status address without reading logs.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace couponflow::ops {

/// One line of an events file, as read back. Fields an event does not have keep their
/// defaults.
struct InstanceEvent {
  int64_t time_ms = 0;
  std::string event;                          // listening, task_state, restore_started, task_restored
  std::string what, address;                  // listening
  int partition = -1;                         // the task events
  std::string from, to;                       // task_state
  std::string store;                          // restore_started
  int64_t from_offset = 0, to_offset = 0;     // restore_started
  int64_t records = 0, bytes = 0, millis = 0;  // task_restored
};

/// The events written to `path` so far, in order; none if it does not exist. A line
/// still being written (no newline yet) waits for the next call; a line that is not an
/// event object is skipped.
std::vector<InstanceEvent> read_instance_events(const std::filesystem::path& path);

}  // namespace couponflow::ops
