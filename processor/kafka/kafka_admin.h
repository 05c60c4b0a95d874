#pragma once
// The Admin interface on librdkafka's Admin API (DescribeConfigs, CreateTopics,
// DescribeConsumerGroups) and cluster metadata.

#include <memory>

#include "processor/admin.h"
#include "processor/kafka/client_properties.h"

namespace couponflow::kafka {

/// Thread: one owner. Errors as processor::Admin says.
class KafkaAdmin final : public processor::Admin {
 public:
  /// `properties`: the client configuration (bootstrap.servers, security, ...).
  explicit KafkaAdmin(const ClientProperties& properties, int timeout_ms = 15'000);
  ~KafkaAdmin() override;
  KafkaAdmin(const KafkaAdmin&) = delete;
  KafkaAdmin& operator=(const KafkaAdmin&) = delete;

  /// Asks the cluster id: librdkafka's mock cluster (the embedded broker) names itself
  /// "mockCluster..." and answers no admin request.
  bool supported() override;
  std::map<std::string, processor::TopicDescription> describe_topics(const std::vector<std::string>& topics) override;
  std::vector<std::string> create_topics(const std::vector<processor::NewTopic>& topics) override;
  processor::GroupDescription describe_group(const std::string& group) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace couponflow::kafka
