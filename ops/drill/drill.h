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

#include "processor/kafka/client_properties.h"
#include "topology/coupon/coupon_topology.h"

namespace couponflow::ops {

struct DrillOptions {
  std::string bootstrap;        // empty: an embedded broker with a fresh catalog
  /// On a cluster: the drill's own clients' properties (bootstrap.servers, security, ...).
  kafka::ClientProperties client;
  /// The production application's topics (the configuration's names): on a cluster
  /// the drill's own are these with its prefix, and these are never touched.
  coupon::CouponTopics production_topics;
  /// On a cluster (bootstrap set), the drill runs as its own application: this group
  /// and changelog prefix, and its own topics (topic_prefix + the contract's names),
  /// created for it with a catalog of its own, so production coupons, groups and topics
  /// are never touched. Empty: "couponflow-drill-<start time>", prefix "<id>.".
  std::string application_id;
  std::string topic_prefix;
  /// The application whose group and topics the drill must not touch unless
  /// `production` says so (the configuration's application.id).
  std::string production_application_id = "coupon-processor";
  /// Explicitly run in the production application's group, on its topics and its
  /// catalog (requests for real coupons from made-up users). Never the default.
  bool production = false;
  int replication_factor = 3;   // of the drill's topics, where the cluster creates topics
  int partitions = 12;          // of the embedded broker's topics, or of the drill's own on a cluster
  int instances = 2;
  int64_t requests = 60'000;    // restore drill: the load before the wipe
  int64_t rate = 2'000;         // kill drill: requests per second
  int duration_seconds = 30;    // kill drill
  int interval_seconds = 8;     // kill drill: a SIGKILL every interval
  uint64_t seed = 11;
  std::filesystem::path work_dir;  // empty: a fresh directory under /tmp
  /// Passed to every instance before the drill's own settings: the configuration
  /// (--config FILE, then -X key=value), as `process` takes it.
  std::vector<std::string> process_args;
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
