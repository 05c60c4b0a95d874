#pragma once
// Drills users run on their own cluster (or on the embedded broker): the restore drill
// and the kill drill. Each starts its own processor instances (child processes of this
// executable), drives load, does its damage, waits for every request to be answered,
// and ends with verify's verdict.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace couponflow::ops {

struct DrillOptions {
  std::string bootstrap;        // empty: an embedded broker with a fresh catalog
  int partitions = 12;          // embedded broker only
  int instances = 2;
  int64_t requests = 60'000;    // restore drill: the load before the wipe
  int64_t rate = 2'000;         // kill drill: requests per second
  int duration_seconds = 30;    // kill drill
  int interval_seconds = 8;     // kill drill: a SIGKILL every interval
  uint64_t seed = 11;
  std::filesystem::path work_dir;  // empty: a fresh directory under /tmp
  std::vector<std::string> process_settings;  // -X key=value for every instance
  /// Fail (exit 1) if verify counts more replayed duplicate results per request.
  std::optional<double> max_duplicates_per_request;
  /// Progress on stderr and one JSON object on stdout: the verdict, the drill's figures
  /// and verify's report.
  bool json_output = false;
};

/// Stops one instance, wipes its state, restarts it, and reports what the restore took.
/// Returns the exit code: 0 iff verify passed and every instance stopped cleanly.
int run_restore_drill(const DrillOptions& options);

/// SIGKILLs a random instance every interval while load runs, restarting it, then
/// verifies. Returns the exit code as above.
int run_kill_drill(const DrillOptions& options);

}  // namespace couponflow::ops
