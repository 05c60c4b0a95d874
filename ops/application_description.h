#pragma once
// couponflow describe: the topology, and with a cluster the group's members, their
// assignment and how far behind each input partition is (Kafka Streams' describe and
// kafka-consumer-groups --describe, in one).

#include <optional>
#include <string>
#include <vector>

#include "common/types.h"
#include "processor/admin.h"
#include "processor/kafka/client_properties.h"
#include "topology/topology.h"

namespace couponflow::ops {

struct ApplicationDescription {
  std::string application_id;
  const topology::Topology* topology = nullptr;
  /// With a cluster (else only the topology is described).
  bool cluster = false;
  /// The group as its coordinator knows it; unset where the cluster cannot describe
  /// groups (the embedded broker).
  std::optional<processor::GroupDescription> group;
  struct InputPartition {
    TopicPartition partition;
    bool table = false;                  // the catalog: read whole by every task
    std::optional<Offset> committed;     // the group's position, if it has one
    Offset log_start, log_end;
    int64_t lag = 0;                     // records from the committed offset (or the start) to the end
    std::string owner;                   // the member it is assigned to, if known
  };
  std::vector<InputPartition> inputs;
  struct ChangelogPartition {
    TopicPartition partition;
    Offset log_start, log_end;
  };
  std::vector<ChangelogPartition> changelogs;

  /// Records waiting in the stream source (tables excluded).
  int64_t total_lag() const;
};

/// Reads the group's committed offsets and every input and changelog partition's
/// watermarks; `admin` (may be null, or unsupported) describes the group's members.
/// Errors: RetriableError if the cluster does not answer; FatalError for a missing topic.
ApplicationDescription describe_application(const kafka::ClientProperties& client, const topology::Topology& topology,
                                            const std::string& application_id, processor::Admin* admin);
/// The topology only.
ApplicationDescription describe_topology(const topology::Topology& topology, const std::string& application_id);

std::string format_description(const ApplicationDescription& d);
std::string format_description_json(const ApplicationDescription& d);

}  // namespace couponflow::ops
