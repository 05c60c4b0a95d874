#include "ops/topic_plan.h"

#include <fmt/format.h>

#include <algorithm>

#include "ops/api/instance_claim.h"
#include "processor/state_topics.h"

namespace couponflow::ops {

std::vector<PlannedTopic> topic_plan(const topology::Topology& topology, const std::string& application_id,
                                     const TopicPlanOptions& options) {
  const auto state = processor::state_topics(topology, application_id);
  std::vector<PlannedTopic> plan;
  auto names = topology.topics(application_id);
  names.push_back(instances_topic(application_id));
  for (const auto& name : names) {
    PlannedTopic p;
    p.topic.name = name;
    p.topic.partitions = options.partitions;
    p.topic.replication_factor = options.replication_factor;
    // The instances topic keeps the last claim of each instance, as a changelog does.
    p.state = std::find(state.begin(), state.end(), name) != state.end() || name == instances_topic(application_id);
    p.topic.configs["cleanup.policy"] = p.state ? "compact" : "delete";
    p.topic.configs["min.insync.replicas"] = std::to_string(options.min_insync_replicas);
    plan.push_back(std::move(p));
  }
  return plan;
}

std::vector<std::string> check_topics(const std::vector<PlannedTopic>& plan,
                                      const std::map<std::string, processor::TopicDescription>& described) {
  std::vector<std::string> problems;
  std::vector<std::string> state;
  for (const auto& p : plan) {
    const std::string& name = p.topic.name;
    auto it = described.find(name);
    if (it == described.end()) {
      problems.push_back(fmt::format("{} does not exist", name));
      continue;
    }
    const processor::TopicDescription& d = it->second;
    if (d.partitions != p.topic.partitions) {
      problems.push_back(fmt::format("{} has {} partitions, {} expected (every topic of the application has the "
                                     "input's count; it cannot change without a migration)",
                                     name, d.partitions, p.topic.partitions));
    }
    if (d.replication_factor > 0 && d.replication_factor < p.topic.replication_factor) {
      problems.push_back(fmt::format("{} has replication factor {}, {} expected", name, d.replication_factor,
                                     p.topic.replication_factor));
    }
    if (auto isr = d.configs.find("min.insync.replicas"); isr != d.configs.end()) {
      const int32_t want = std::stoi(p.topic.configs.at("min.insync.replicas"));
      if (std::atoi(isr->second.c_str()) < want) {
        problems.push_back(fmt::format("{} has min.insync.replicas={}, {} expected (acks=all must survive a broker "
                                       "lost)",
                                       name, isr->second, want));
      }
    }
    if (p.state) {
      state.push_back(name);
    } else if (auto policy = d.configs.find("cleanup.policy");
               policy != d.configs.end() && policy->second.find("compact") != std::string::npos) {
      problems.push_back(fmt::format("{} has cleanup.policy={}: compaction would keep only the last record of each "
                                     "coupon; it must be delete",
                                     name, policy->second));
    }
  }
  const auto compaction = processor::compaction_problems(state, described);
  problems.insert(problems.end(), compaction.begin(), compaction.end());
  return problems;
}

}  // namespace couponflow::ops
