// The Admin of a MockCluster: topics with the configuration the test gave them
// (MockCluster::set_topic_config), or no Admin API at all (Options::admin_api).

#include "processor/testing/mock_clients.h"

namespace couponflow::processor::testing {

bool MockAdmin::supported() { return cluster_.options_.admin_api; }

std::map<std::string, TopicDescription> MockAdmin::describe_topics(const std::vector<std::string>& topics) {
  std::lock_guard lock(cluster_.mutex_);
  cluster_.check(MockCall::kTopicPartitions);
  std::map<std::string, TopicDescription> out;
  for (const auto& name : topics) {
    auto it = cluster_.topics_.find(name);
    if (it == cluster_.topics_.end()) continue;
    TopicDescription& d = out[name];
    d.partitions = static_cast<int32_t>(it->second.size());
    d.replication_factor = 1;
    if (auto c = cluster_.topic_configs_.find(name); c != cluster_.topic_configs_.end()) d.configs = c->second;
  }
  return out;
}

std::vector<std::string> MockAdmin::create_topics(const std::vector<NewTopic>& topics) {
  std::vector<std::string> existing;
  for (const auto& t : topics) {
    if (!describe_topics({t.name}).empty()) {
      existing.push_back(t.name);
      continue;
    }
    cluster_.create_topic(t.name, t.partitions);
    for (const auto& [key, value] : t.configs) cluster_.set_topic_config(t.name, key, value);
  }
  return existing;
}

GroupDescription MockAdmin::describe_group(const std::string& group) {
  std::lock_guard lock(cluster_.mutex_);
  cluster_.check(MockCall::kTopicPartitions);
  GroupDescription out;
  auto it = cluster_.members_.find(group);
  if (it == cluster_.members_.end()) {
    out.state = cluster_.committed_.contains(group) ? "Empty" : "Dead";
    return out;
  }
  out.state = it->second->consumer != nullptr ? "Stable" : "Empty";
  if (it->second->consumer != nullptr) out.members.push_back({"mock-member-1", "mock", "/127.0.0.1", "", {}});
  return out;
}

}  // namespace couponflow::processor::testing
