#pragma once
// `couponflow demo`: the main job end to end on the embedded broker.
//
// Starts the embedded broker in-process, publishes a catalog, runs processor instances
// as child processes (the real `couponflow process`), sends a burst of requests with
// duplicates and undecidable records, measures end-to-end latency as a result-topic
// subscriber sees it, then runs verify and prints a per-coupon table.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace couponflow::ops {

struct DemoOptions {
  int64_t requests = 100'000;  // the burst
  int64_t steady_rate = 5'000;  // then this many requests per second...
  int64_t steady_seconds = 4;   // ...for this long
  int instances = 2;
  int partitions = 12;
  int brokers = 3;
  uint32_t seed = 7;
  std::filesystem::path work_dir;  // empty: a fresh directory under /tmp, removed at the end
  std::vector<std::string> process_settings;  // key=value, passed to every instance as -X
  /// Progress on stderr and one JSON object on stdout: figures, latencies, verify's report.
  bool json_output = false;
};

/// Runs the demo; returns the process exit code (0 iff verify passed and every
/// instance shut down cleanly).
int run_demo(const DemoOptions& options);

}  // namespace couponflow::ops
