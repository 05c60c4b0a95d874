// The topics an application needs and the checks against what a cluster has: the plan
// `couponflow topics create` creates from, `topics check`'s verdicts, the changelog
// compaction check `process` makes at start, and `describe`'s view of the group, on a
// scripted Admin (the embedded broker has no Admin API, so the verdicts are tested
// against the seam).

#include <doctest/doctest.h>

#include "common/errors.h"
#include "ops/application_description.h"
#include "ops/topic_plan.h"
#include "tests/support/embedded_cluster.h"
#include "processor/state_topics.h"
#include "topology/coupon/coupon_topology.h"

using namespace couponflow;
using processor::TopicDescription;

namespace {

/// An Admin that answers from a map, as a cluster with these topics would.
struct ScriptedAdmin final : processor::Admin {
  bool has_admin_api = true;
  std::map<std::string, TopicDescription> topics;
  int describe_calls = 0;

  processor::GroupDescription group{"Dead", {}};

  bool supported() override { return has_admin_api; }
  processor::GroupDescription describe_group(const std::string&) override { return group; }
  std::map<std::string, TopicDescription> describe_topics(const std::vector<std::string>& names) override {
    ++describe_calls;
    std::map<std::string, TopicDescription> out;
    for (const auto& n : names) {
      if (auto it = topics.find(n); it != topics.end()) out.insert(*it);
    }
    return out;
  }
  std::vector<std::string> create_topics(const std::vector<processor::NewTopic>& created) override {
    std::vector<std::string> existing;
    for (const auto& t : created) {
      if (topics.contains(t.name)) {
        existing.push_back(t.name);
      } else {
        topics[t.name] = {t.partitions, t.replication_factor, t.configs};
      }
    }
    return existing;
  }
};

const std::string kChangelog = "coupon-processor-issued-changelog";

}  // namespace

TEST_CASE("the plan: every topic at the input's partition count; catalog, changelog and instances compacted, the rest not") {
  const auto topology = coupon::build_coupon_topology();
  const auto plan = ops::topic_plan(topology, "coupon-processor", {12, 3, 2});
  std::map<std::string, bool> compacted;
  for (const auto& p : plan) {
    CHECK(p.topic.partitions == 12);
    CHECK(p.topic.replication_factor == 3);
    CHECK(p.topic.configs.at("min.insync.replicas") == "2");
    CHECK(p.topic.configs.at("cleanup.policy") == (p.state ? "compact" : "delete"));
    compacted[p.topic.name] = p.state;
  }
  const std::map<std::string, bool> expected{{"coupon-issuance", false}, {"coupon-catalog", true},
                                             {"coupon-issued", false},   {"coupon-rejected", false},
                                             {"coupon-issuance-dlq", false}, {kChangelog, true},
                                             {"coupon-processor-instances", true}};
  CHECK(compacted == expected);
}

TEST_CASE("topics check names each difference from the plan, and nothing when the cluster matches") {
  const auto topology = coupon::build_coupon_topology();
  const auto plan = ops::topic_plan(topology, "coupon-processor", {12, 3, 2});
  ScriptedAdmin cluster;
  for (const auto& p : plan) cluster.create_topics({p.topic});
  std::vector<std::string> names;
  for (const auto& p : plan) names.push_back(p.topic.name);
  CHECK(ops::check_topics(plan, cluster.describe_topics(names)).empty());

  cluster.topics[kChangelog].configs["cleanup.policy"] = "delete";
  cluster.topics["coupon-issued"].configs["cleanup.policy"] = "compact,delete";
  cluster.topics["coupon-rejected"].partitions = 6;
  cluster.topics["coupon-issuance-dlq"].replication_factor = 1;
  cluster.topics["coupon-issuance"].configs["min.insync.replicas"] = "1";
  cluster.topics.erase("coupon-catalog");
  const auto problems = ops::check_topics(plan, cluster.describe_topics(names));
  REQUIRE(problems.size() == 6);
  auto mentions = [&](const std::string& a, const std::string& b) {
    for (const auto& p : problems) {
      if (p.find(a) != std::string::npos && p.find(b) != std::string::npos) return true;
    }
    return false;
  };
  CHECK(mentions(kChangelog, "cleanup.policy=delete"));
  CHECK(mentions("coupon-issued", "only the last record of each coupon"));
  CHECK(mentions("coupon-rejected", "6 partitions, 12 expected"));
  CHECK(mentions("coupon-issuance-dlq", "replication factor 1, 3 expected"));
  CHECK(mentions("coupon-issuance", "min.insync.replicas=1"));
  CHECK(mentions("coupon-catalog", "does not exist"));
}

TEST_CASE("process refuses a changelog or catalog that retention may trim, and cannot check without an Admin API") {
  const auto topology = coupon::build_coupon_topology();
  ScriptedAdmin cluster;
  for (const auto& p : ops::topic_plan(topology, "coupon-processor", {12, 3, 2})) cluster.create_topics({p.topic});
  CHECK_NOTHROW(processor::validate_state_topics(cluster, topology, "coupon-processor"));

  SUBCASE("a changelog with cleanup.policy=delete") {
    cluster.topics[kChangelog].configs["cleanup.policy"] = "delete";
    try {
      processor::validate_state_topics(cluster, topology, "coupon-processor");
      FAIL("accepted a changelog that retention may trim");
    } catch (const FatalError& e) {
      CHECK(std::string(e.what()).find(kChangelog + " has cleanup.policy=delete") != std::string::npos);
      CHECK(std::string(e.what()).find("cleanup.policy=compact") != std::string::npos);
    }
  }
  SUBCASE("a catalog that is not compacted") {
    cluster.topics["coupon-catalog"].configs["cleanup.policy"] = "delete";
    CHECK_THROWS_AS(processor::validate_state_topics(cluster, topology, "coupon-processor"), FatalError);
  }
  SUBCASE("a cluster that does not say") {
    cluster.topics[kChangelog].configs.clear();
    CHECK_NOTHROW(processor::validate_state_topics(cluster, topology, "coupon-processor"));
  }
  SUBCASE("no Admin API (the embedded broker): not checked, not refused") {
    cluster.topics[kChangelog].configs["cleanup.policy"] = "delete";
    cluster.has_admin_api = false;
    const int before = cluster.describe_calls;
    CHECK_NOTHROW(processor::validate_state_topics(cluster, topology, "coupon-processor"));
    CHECK(cluster.describe_calls == before);
  }
}

TEST_CASE("describe: each input partition's committed offset, end and lag, and the members' assignment") {
  couponflow::testing::EmbeddedCluster cluster(3);
  couponflow::testing::TempDir dir;
  cluster.define("c", 1000);
  for (int i = 0; i < 30; ++i) cluster.request(fmt::format("r{}", i), "c", fmt::format("u{}", i));
  cluster.flush();
  {
    auto a = cluster.start(dir.path() / "a", "a");
    cluster.wait_until_all_answered();
    a->stop();
  }
  // Ten more wait for a processor that is not running.
  for (int i = 30; i < 40; ++i) cluster.request(fmt::format("r{}", i), "c", fmt::format("u{}", i));
  cluster.flush();

  ScriptedAdmin admin;
  admin.group = {"Stable",
                 {{"m-1", "a-StreamThread-1", "/10.0.0.7", "a-StreamThread-1",
                   {{"coupon-issuance", Partition{0}}, {"coupon-issuance", Partition{1}}, {"coupon-issuance", Partition{2}}}}}};
  const auto topology = coupon::build_coupon_topology();
  const auto d = ops::describe_application(cluster.client(), topology, "coupon-processor", &admin);
  REQUIRE(d.inputs.size() == 6);  // requests and catalog, 3 partitions each
  CHECK(d.total_lag() == 10);
  for (const auto& in : d.inputs) {
    REQUIRE(in.committed.has_value());
    CHECK(in.lag == in.log_end.value - in.committed->value);
    CHECK(in.owner == "a-StreamThread-1");
    CHECK(in.table == (in.partition.topic == "coupon-catalog"));
  }
  REQUIRE(d.changelogs.size() == 3);
  int64_t changelog_records = 0;
  for (const auto& c : d.changelogs) changelog_records += c.log_end.value;
  CHECK(changelog_records >= 30);  // 30 holdings, and the recorded input positions

  const std::string text = ops::format_description(d);
  CHECK(text.find("group: Stable, 1 member(s)") != std::string::npos);
  CHECK(text.find("lag: 10 request(s) waiting") != std::string::npos);
  CHECK(text.find("store issued (changelog coupon-processor-issued-changelog; views counts)") != std::string::npos);
  const std::string json = ops::format_description_json(d);
  CHECK(json.find("\"lag\":10,") != std::string::npos);
  CHECK(json.find("\"assignment\":[\"coupon-issuance-0\",\"coupon-issuance-1\",\"coupon-issuance-2\"]") != std::string::npos);

  // Where the cluster cannot describe groups, the members are said to be unknown.
  admin.has_admin_api = false;
  const auto unknown = ops::describe_application(cluster.client(), topology, "coupon-processor", &admin);
  CHECK_FALSE(unknown.group.has_value());
  CHECK(ops::format_description(unknown).find("members unknown") != std::string::npos);
  CHECK(ops::format_description_json(unknown).find("\"group\":null") != std::string::npos);
}
