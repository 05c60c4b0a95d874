#pragma once
// couponflow reset: Kafka Streams' application reset tool, for a stopped application.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/types.h"
#include "processor/admin.h"
#include "processor/kafka/client_properties.h"
#include "topology/topology.h"

namespace couponflow::ops {

struct ResetOptions {
  std::string application_id;
  /// The stream source restarts at the first record at or after this time (ms since
  /// the epoch); unset: at its log start. Tables (the catalog) always restart at their
  /// log start: a table is its whole topic.
  std::optional<int64_t> to_timestamp_ms;
  bool dry_run = false;
  /// How long to wait for the group's answer to our join (a few rebalance rounds).
  int64_t join_timeout_ms = 60'000;
};

struct ResetReport {
  /// False: the group had other members (a running instance); nothing was changed.
  bool group_empty = false;
  /// Partitions of the stream source other members took when we joined (refused).
  size_t partitions_held_by_others = 0;
  struct InputOffset {
    TopicPartition partition;
    std::optional<Offset> from;  // committed before, if any
    Offset to;
  };
  std::vector<InputOffset> inputs;
  struct Changelog {
    std::string topic;
    int64_t records_read = 0;
    int64_t tombstones = 0;  // written (or, in a dry run, to write)
    bool truncated = false;  // the log no longer starts at 0 (retention or the broker's cap)
  };
  std::vector<Changelog> changelogs;
  bool dry_run = false;
};

/// Resets `topology`'s application so that it processes its inputs again from the
/// start (or from a time) with empty state, as Kafka Streams' reset tool does:
///   0. where the cluster can describe groups (`admin`), refuses a group with members;
///   1. joins the application's consumer group and proceeds only if it is handed every
///      partition of the stream source, i.e. no instance is running (a member that has
///      not left yet, e.g. one killed within its session timeout, counts as running);
///   2. commits, as that only member, the input offsets: the stream source at its log
///      start or the given time, the tables at their log start;
///   3. empties every changelog by writing a tombstone for each live key, the recorded
///      input positions included. Topics are not deleted (no DeleteTopics right needed,
///      the platform team's settings stay, and the embedded broker cannot delete): the
///      tombstones reach every instance's local stores and standbys through their
///      restore, and compaction removes the rest;
///   4. leaves the group.
/// A dry run does 1 and reports what 2 and 3 would do.
/// Errors: RetriableError if the cluster does not answer; FatalError for a missing topic.
/// `admin` (may be null): where the cluster can describe groups, a group with members
/// is refused without joining it (a join would make the running members rebalance).
ResetReport reset_application(const kafka::ClientProperties& client, const kafka::ClientProperties& consumer,
                              const topology::Topology& topology, const ResetOptions& options,
                              processor::Admin* admin = nullptr);

std::string format_reset_report(const ResetReport& report);
std::string format_reset_report_json(const ResetReport& report, const std::string& application_id);

}  // namespace couponflow::ops
