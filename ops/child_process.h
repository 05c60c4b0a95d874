#pragma once
// Child processes for the demo and drills: `couponflow process` instances started from
// this very executable, with their output in a log file, cleaned up by PID.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace couponflow::ops {

/// Role: one child process. The child gets SIGTERM if this process dies first
/// (PR_SET_PDEATHSIG), so a crashed demo leaves no orphans.
/// Lifecycle: started by the constructor; terminate() asks it to stop, kill() stops it;
/// the destructor kills and reaps a child still running.
class ChildProcess {
 public:
  /// Runs `argv` (argv[0] is the program path); stdout and stderr go to `log_file`.
  ChildProcess(const std::vector<std::string>& argv, const std::filesystem::path& log_file);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  /// SIGTERM (graceful), then waits up to `timeout`; returns the exit status
  /// (128+signal when killed by a signal), or nullopt if it is still running.
  std::optional<int> terminate(std::chrono::milliseconds timeout);
  /// SIGKILL and reap.
  int kill();
  /// The exit status if it has exited (non-blocking).
  std::optional<int> poll();

 private:
  std::optional<int> wait_for(std::chrono::milliseconds timeout);
  pid_t pid_ = -1;
  std::optional<int> status_;
};

/// The path of the running executable (to start more of itself).
std::string self_executable();

}  // namespace couponflow::ops
