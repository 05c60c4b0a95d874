#pragma once
// The on-disk layout of an instance's state: <state-dir>/<application-id>/<task>/<store>.

#include <filesystem>
#include <mutex>
#include <cstdint>
#include <optional>
#include <string>

#include "common/types.h"

namespace couponflow::state {

/// Role: owns an application's state directory for the life of one process.
/// Holds an exclusive lock on it (flock), so two instances configured with the same
/// directory fail fast instead of corrupting each other's stores.
/// Errors: FatalError if the directory cannot be created or is locked by another process.
/// Thread: any (the stream threads of an instance share it).
class StateDirectory {
 public:
  StateDirectory(const std::filesystem::path& root, const std::string& application_id);
  ~StateDirectory();
  StateDirectory(const StateDirectory&) = delete;
  StateDirectory& operator=(const StateDirectory&) = delete;

  const std::filesystem::path& path() const { return dir_; }
  std::filesystem::path task_dir(TaskId id) const { return dir_ / id.str(); }
  /// Deletes a task's local state (its stores restore from scratch next time).
  void wipe(TaskId id) const;

  /// A random name of this state directory, made on first use and kept in it: stable
  /// across restarts, different for every directory (e.g. every pod's volume).
  std::string identity() const;

  /// The input partition count the state was built for, if recorded.
  std::optional<int32_t> recorded_partitions() const;
  void record_partitions(int32_t count) const;

 private:
  std::filesystem::path dir_;
  int lock_fd_ = -1;
  mutable std::mutex files_mutex_;  // identity and partitions: read, or written via a temporary file
};

}  // namespace couponflow::state
