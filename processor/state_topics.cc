#include "processor/state_topics.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <atomic>

#include "common/errors.h"
#include "common/log.h"
#include "state/store_spec.h"

namespace couponflow::processor {

std::vector<std::string> state_topics(const topology::Topology& topology, const std::string& application_id) {
  std::vector<std::string> topics;
  for (const auto& store : topology.stores()) topics.push_back(state::changelog_topic(application_id, store));
  return topics;
}

std::vector<std::string> compaction_problems(const std::vector<std::string>& topics,
                                             const std::map<std::string, TopicDescription>& described) {
  std::vector<std::string> problems;
  for (const auto& topic : topics) {
    auto it = described.find(topic);
    if (it == described.end()) continue;
    auto policy = it->second.configs.find("cleanup.policy");
    if (policy == it->second.configs.end()) continue;
    if (policy->second.find("compact") == std::string::npos) {
      problems.push_back(fmt::format(
          "{} has cleanup.policy={}: it holds state, and retention would delete it (a restore from it is then "
          "refused); set cleanup.policy=compact (kafka-configs.sh --alter --entity-type topics --entity-name {} "
          "--add-config cleanup.policy=compact)",
          topic, policy->second, topic));
    }
  }
  return problems;
}

void validate_state_topics(Admin& admin, const topology::Topology& topology, const std::string& application_id) {
  if (!admin.supported()) {
    static std::atomic<bool> said{false};
    if (!said.exchange(true)) {
      log::info("the cluster has no Admin API (the embedded broker): changelog cleanup.policy not checked");
    }
    return;
  }
  const auto topics = state_topics(topology, application_id);
  const auto problems = compaction_problems(topics, admin.describe_topics(topics));
  if (!problems.empty()) throw FatalError(fmt::format("{}", fmt::join(problems, "; ")));
}

}  // namespace couponflow::processor
