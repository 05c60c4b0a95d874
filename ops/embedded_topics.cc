#include "ops/embedded_topics.h"

#include <algorithm>

#include "ops/api/instance_claim.h"

namespace couponflow::ops {

std::vector<std::string> create_topology_topics(kafka::EmbeddedBroker& broker, const topology::Topology& topology,
                                                const std::vector<std::string>& application_ids, int partitions) {
  std::vector<std::string> topics;
  for (const auto& app : application_ids) {
    auto app_topics = topology.topics(app);
    app_topics.push_back(instances_topic(app));  // where instances advertise their queries
    for (const auto& t : app_topics) {
      if (std::find(topics.begin(), topics.end(), t) == topics.end()) topics.push_back(t);
    }
  }
  // Replicate as a production cluster would (RF 3 where there are 3 brokers).
  for (const auto& t : topics) broker.create_topic(t, partitions, std::min(3, broker.broker_count()));
  return topics;
}

}  // namespace couponflow::ops
