#pragma once
// A fleet of `couponflow process` instances run as child processes of this one (demo,
// drills, tests), and what their events files say: who ran which partition when, and
// what each restore cost.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ops/child_process.h"
#include "ops/instance_events_reader.h"

namespace couponflow::ops {

/// One partition's RUNNING period on one instance, in wall-clock ms.
struct Ownership {
  std::string instance;
  int partition;
  int64_t from_ms;
  int64_t to_ms;  // INT64_MAX: still running
};

/// One completed restore of a task (a task_restored event).
struct RestoreStat {
  std::string instance;
  int partition;
  int64_t records;
  int64_t bytes;
  double seconds;
};

/// Role: starts, stops and kills named instances, each with its own state directory
/// under `dir` and a log file per run. Cleans up by PID: the destructor kills what is
/// still running. Thread: one owner.
class Fleet {
 public:
  /// `common_args` go to every instance after `process --bootstrap ... --state-dir ...
  /// --instance-id NAME`.
  Fleet(std::string executable, std::string bootstrap, std::filesystem::path dir,
        std::vector<std::string> common_args = {});
  ~Fleet();

  /// Starts (or restarts) instance `name`, keeping its state directory.
  void start(const std::string& name, const std::vector<std::string>& extra = {});
  /// SIGTERM and wait up to `timeout`: the exit code, or nullopt if it did not stop.
  std::optional<int> stop(const std::string& name, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  /// SIGKILL: no commit, no goodbye. Its ownership ends now.
  void kill(const std::string& name);
  bool running(const std::string& name);
  /// Deletes a stopped instance's local state.
  void wipe_state(const std::string& name);

  std::filesystem::path state_dir(const std::string& name) const { return dir_ / ("state-" + name); }
  std::filesystem::path current_log(const std::string& name) const;
  /// The last `lines` lines of the instance's current log, for a failure message (a
  /// test's logs are deleted with its directory).
  std::string log_tail(const std::string& name, size_t lines = 40) const;
  /// HOST:PORT of the instance's /metrics, /healthz and /readyz, once it listens.
  std::optional<std::string> metrics_address(const std::string& name) const;
  std::vector<std::string> names() const;

  std::vector<Ownership> ownership() const;
  std::vector<RestoreStat> restores() const;
  /// Partitions each running instance runs now (from the events).
  std::map<std::string, std::vector<int>> running_partitions() const;
  /// Waits until every partition runs on exactly one running instance, every running
  /// instance has work (when there are enough partitions), and that has held for
  /// `stable`. Returns false on timeout or when `stop` is set.
  bool wait_until_settled(int partitions, std::chrono::milliseconds timeout,
                          std::chrono::milliseconds stable = std::chrono::seconds(1),
                          const std::atomic<bool>* stop = nullptr);

 private:
  struct Run {
    std::string name;
    std::filesystem::path log;     // for people
    // What this class reads (--events-file), followed as the file grows: the const
    // queries catch up with it, which is why they too need the one owner.
    mutable InstanceEventsFile events;
    std::optional<int64_t> killed_ms;
  };

  std::string executable_;
  std::string bootstrap_;
  std::filesystem::path dir_;
  std::vector<std::string> common_args_;
  std::map<std::string, std::unique_ptr<ChildProcess>> processes_;
  std::vector<Run> runs_;
};

}  // namespace couponflow::ops
