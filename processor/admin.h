#pragma once
// Cluster administration as an interface (Kafka Streams' Admin): describing and creating
// topics, describing consumer groups. `process` checks its changelogs with it at start, `couponflow topics` creates
// and checks every topic of the application. The real one wraps librdkafka's Admin API
// (processor/kafka/kafka_admin.h); tests script one on a MockCluster.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/types.h"

namespace couponflow::processor {

/// What the cluster says of one topic.
struct TopicDescription {
  int32_t partitions = 0;
  int32_t replication_factor = 0;
  std::map<std::string, std::string> configs;  // the effective configuration (cleanup.policy, ...)
};

/// One member of a consumer group, as the group coordinator knows it.
struct GroupMember {
  std::string member_id;
  std::string client_id;
  std::string host;
  std::string instance_id;  // group.instance.id, "" without static membership
  std::vector<TopicPartition> assignment;
};

/// A consumer group: its state (Stable, PreparingRebalance, Empty, Dead, ...) and members.
struct GroupDescription {
  std::string state;
  std::vector<GroupMember> members;
};

/// A topic to create.
struct NewTopic {
  std::string name;
  int32_t partitions = 0;
  int32_t replication_factor = 0;
  std::map<std::string, std::string> configs;
};

/// Errors: RetriableError when the cluster does not answer in time; FatalError when it
/// refuses (authorization, invalid settings), naming the topic.
class Admin {
 public:
  virtual ~Admin() = default;
  /// False on a cluster without the Admin API (librdkafka's mock cluster, the embedded
  /// broker: DescribeConfigs and CreateTopics time out there). Then nothing else may be
  /// called.
  virtual bool supported() = 0;
  /// Those of `topics` that exist, with their settings; a missing topic is absent.
  virtual std::map<std::string, TopicDescription> describe_topics(const std::vector<std::string>& topics) = 0;
  /// Creates the topics. Returns the names of those that existed already (left as they are).
  virtual std::vector<std::string> create_topics(const std::vector<NewTopic>& topics) = 0;
  /// The group's state and members (DescribeConsumerGroups); a group that does not
  /// exist is "Dead" without members.
  virtual GroupDescription describe_group(const std::string& group) = 0;
};

}  // namespace couponflow::processor
