// couponflow topics create|check: every topic the application uses, with the settings it
// needs (ops/topic_plan.h), through the cluster's Admin API.

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "common/errors.h"
#include "common/log.h"
#include "ops/cli/client_options.h"
#include "ops/cli/commands.h"
#include "ops/topic_plan.h"
#include "processor/kafka/kafka_admin.h"
#include "topology/coupon/coupon_topology.h"

namespace couponflow::cli {

namespace {

// Exit codes, as verify's: 0 fine, 1 problems found, 3 cannot tell.
constexpr int kFine = 0, kProblems = 1, kCannotCheck = 3;

/// Prints the problems (or that there are none); returns the exit code.
int report(const std::vector<std::string>& problems, size_t topics) {
  for (const auto& p : problems) std::printf("problem: %s\n", p.c_str());
  if (problems.empty()) std::printf("topics: %zu topics as the application needs them\n", topics);
  return problems.empty() ? kFine : kProblems;
}

}  // namespace

Run add_topics_command(CLI::App& root) {
  struct Options {
    ClientOptions client;
    std::string application_id;
    ops::TopicPlanOptions plan;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = root.add_subcommand(
      "topics", "Create or check every topic the application uses (requests, catalog, results, DLQ, changelogs) "
                "through the cluster's Admin API.");
  cmd->require_subcommand(1);
  auto* create = cmd->add_subcommand(
      "create", "Create the missing topics (compacted catalog and changelogs), then check them all. Exit 0: as "
                "needed; 1: a topic that existed differs (listed); 3: the cluster has no Admin API.");
  auto* check = cmd->add_subcommand(
      "check", "Compare the cluster's topics with what the application needs. Exit 0: as needed; 1: problems "
               "(listed); 3: the cluster has no Admin API or does not answer.");
  for (auto* sub : {create, check}) {
    o->client.add_to(sub);
    sub->add_option("--application-id", o->application_id, "whose changelogs (default: the configuration's)");
    sub->add_option("--partitions", o->plan.partitions, "partitions of every topic (default 12)")
        ->check(CLI::Range(1, 100'000));
    sub->add_option("--replication-factor", o->plan.replication_factor, "replication factor (default 3)")
        ->check(CLI::Range(1, 100));
    sub->add_option("--min-insync-replicas", o->plan.min_insync_replicas, "min.insync.replicas (default 2)")
        ->check(CLI::Range(1, 100));
  }
  return [o, create] {
    const ops::AppConfig config = o->client.resolve();
    ops::apply_logging(config);
    const std::string application_id =
        o->application_id.empty() ? config.streams.application_id : o->application_id;
    const auto topology = coupon::build_coupon_topology(config.coupon);
    const auto plan = ops::topic_plan(topology, application_id, o->plan);
    std::vector<std::string> names;
    for (const auto& p : plan) names.push_back(p.topic.name);
    try {
      kafka::KafkaAdmin admin(tool_client(config));
      if (!admin.supported()) {
        std::printf("topics: the cluster has no Admin API (the embedded broker creates its topics itself: "
                    "couponflow broker); nothing %s\n",
                    create->parsed() ? "created" : "checked");
        return kCannotCheck;
      }
      if (create->parsed()) {
        std::vector<processor::NewTopic> missing;
        const auto described = admin.describe_topics(names);
        for (const auto& p : plan) {
          if (!described.contains(p.topic.name)) missing.push_back(p.topic);
        }
        // Another client may create one at the same time: those are checked, not claimed.
        const auto existed = missing.empty() ? std::vector<std::string>{} : admin.create_topics(missing);
        for (const auto& t : missing) {
          if (std::find(existed.begin(), existed.end(), t.name) != existed.end()) continue;
          std::printf("created %s (%d partitions, replication factor %d, cleanup.policy=%s)\n", t.name.c_str(),
                      t.partitions, t.replication_factor, t.configs.at("cleanup.policy").c_str());
        }
      }
      // New topics reach every broker's metadata within moments: look again until they do.
      auto described = admin.describe_topics(names);
      for (int tries = 0; tries < 20 && described.size() < names.size() && create->parsed(); ++tries) {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        described = admin.describe_topics(names);
      }
      return report(ops::check_topics(plan, described), plan.size());
    } catch (const RetriableError& e) {
      std::printf("topics: cannot check: %s\n", e.what());
      return kCannotCheck;
    }
  };
}

}  // namespace couponflow::cli
