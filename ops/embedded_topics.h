#pragma once
// Creates a topology's topics on the embedded broker, which cannot create them through
// the admin API and would otherwise auto-create them with the wrong partition count.

#include <string>
#include <vector>

#include "processor/kafka/embedded_broker.h"
#include "topology/topology.h"

namespace couponflow::ops {

/// Creates every topic `topology` reads or writes (changelogs of each application id
/// included) with `partitions` partitions. Returns the topic names.
std::vector<std::string> create_topology_topics(kafka::EmbeddedBroker& broker, const topology::Topology& topology,
                                                const std::vector<std::string>& application_ids, int partitions);

}  // namespace couponflow::ops
