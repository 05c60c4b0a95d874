// couponflow reset: a stopped application processes its inputs again with empty state.

#include <doctest/doctest.h>

#include <thread>

#include "ops/application_reset.h"
#include "processor/kafka/kafka_consumer.h"
#include "processor/kafka/topic_reader.h"
#include "tests/support/embedded_cluster.h"
#include "topology/coupon/result.h"

using namespace couponflow;
using namespace couponflow::testing;

namespace {

/// Every answer on the result topics, in the order of each partition.
std::vector<coupon::CouponResult> all_answers(EmbeddedCluster& cluster) {
  std::vector<coupon::CouponResult> out;
  kafka::read_topics(cluster.client(), {"coupon-issued", "coupon-rejected"}, [&](kafka::ReadRecord&& r) {
    std::string error;
    if (auto parsed = coupon::parse_result(r.value.value_or(""), error)) out.push_back(*parsed);
  });
  return out;
}

int64_t wait_for_answers(EmbeddedCluster& cluster, size_t n) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    const auto answers = all_answers(cluster);
    if (answers.size() >= n) return static_cast<int64_t>(answers.size());
    REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline, answers.size() << " of " << n << " answers");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

ops::ResetOptions reset_options() {
  ops::ResetOptions o;
  o.application_id = "coupon-processor";
  return o;
}

kafka::ClientProperties fast_group() { return {{"session.timeout.ms", "3000"}, {"heartbeat.interval.ms", "500"}}; }

/// Holders of `coupon` among `answers`, by issue number.
std::map<int64_t, std::string> holders(const std::vector<coupon::CouponResult>& answers) {
  std::map<int64_t, std::string> out;
  for (const auto& a : answers) {
    if (a.accepted) out[a.issue_no] = a.user_id;
  }
  return out;
}

}  // namespace

TEST_CASE("reset refuses while an instance runs and changes nothing") {
  EmbeddedCluster cluster(3);
  TempDir dir;
  cluster.define("c", 5);
  for (int i = 0; i < 10; ++i) cluster.request(fmt::format("r{}", i), "c", fmt::format("u{}", i));
  cluster.flush();
  auto a = cluster.start(dir.path() / "a", "a");
  EmbeddedCluster::wait_until_running({a.get()}, 3);
  cluster.wait_until_all_answered();

  const auto report = ops::reset_application(cluster.client(), fast_group(), cluster.topology(), reset_options());
  CHECK_FALSE(report.group_empty);
  CHECK(report.partitions_held_by_others > 0);
  CHECK(report.inputs.empty());
  CHECK(report.changelogs.empty());
  CHECK(ops::format_reset_report(report).find("refused") != std::string::npos);
  // The instance goes on deciding; nothing was reset.
  cluster.request("late", "c", "u-late");
  cluster.flush();
  cluster.wait_until_all_answered();
  a->stop();
  CHECK(a->error().empty());
  const auto answers = all_answers(cluster);
  CHECK(answers.size() == 11);
  CHECK(holders(answers).size() == 5);
}

TEST_CASE("after a reset the application decides every request again from empty state, local state included") {
  EmbeddedCluster cluster(3);
  TempDir dir;
  cluster.define("c", 5);
  for (int i = 0; i < 20; ++i) cluster.request(fmt::format("r{}", i), "c", fmt::format("u{}", i));
  cluster.flush();
  {
    auto a = cluster.start(dir.path() / "a", "a");
    wait_for_answers(cluster, 20);
    a->stop();
  }
  const int64_t first_run_ended = EmbeddedCluster::now();
  const auto first = all_answers(cluster);
  REQUIRE(first.size() == 20);
  REQUIRE(holders(first).size() == 5);

  auto dry = reset_options();
  dry.dry_run = true;
  const auto preview = ops::reset_application(cluster.client(), fast_group(), cluster.topology(), dry);
  REQUIRE(preview.group_empty);
  CHECK(preview.changelogs.size() == 1);
  CHECK(preview.changelogs[0].tombstones > 0);

  const auto report = ops::reset_application(cluster.client(), fast_group(), cluster.topology(), reset_options());
  REQUIRE(report.group_empty);
  // Requests and catalog back to offset 0, every partition.
  CHECK(report.inputs.size() == 6);
  for (const auto& in : report.inputs) CHECK(in.to.value == 0);
  // Five holdings, their counter, and the recorded input positions: all tombstoned.
  REQUIRE(report.changelogs.size() == 1);
  CHECK(report.changelogs[0].tombstones == preview.changelogs[0].tombstones);
  const auto again = ops::reset_application(cluster.client(), fast_group(), cluster.topology(), dry);
  CHECK(again.changelogs[0].tombstones == 0);  // nothing live is left

  // The same instance, with its local stores still on disk, decides everything anew.
  auto a = cluster.start(dir.path() / "a", "a");
  wait_for_answers(cluster, 40);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // nothing beyond 40 comes
  a->stop();
  CHECK(a->error().empty());
  const auto answers = all_answers(cluster);
  REQUIRE(answers.size() == 40);
  std::vector<coupon::CouponResult> second;
  for (const auto& r : answers) {
    if (r.decided_at > first_run_ended) second.push_back(r);
  }
  REQUIRE(second.size() == 20);
  // Same inputs, same order, empty state: the same five holders with the same numbers.
  CHECK(holders(second) == holders(first));
}

TEST_CASE("a reset to a time reprocesses only the requests from that time, with empty state") {
  EmbeddedCluster cluster(1);
  TempDir dir;
  cluster.define("c", 3);
  for (int i = 0; i < 3; ++i) cluster.request(fmt::format("early{}", i), "c", fmt::format("e{}", i));
  cluster.flush();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const int64_t cut = EmbeddedCluster::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  for (int i = 0; i < 3; ++i) cluster.request(fmt::format("late{}", i), "c", fmt::format("l{}", i));
  cluster.flush();
  {
    auto a = cluster.start(dir.path() / "a", "a");
    wait_for_answers(cluster, 6);
    a->stop();
  }
  auto first = all_answers(cluster);
  CHECK(holders(first).size() == 3);  // the early users; the late ones found it sold out

  auto options = reset_options();
  options.to_timestamp_ms = cut;
  const auto report = ops::reset_application(cluster.client(), fast_group(), cluster.topology(), options);
  REQUIRE(report.group_empty);
  for (const auto& in : report.inputs) {
    CHECK(in.to.value == (in.partition.topic == "coupon-issuance" ? 3 : 0));
  }
  auto a = cluster.start(dir.path() / "a", "a");
  wait_for_answers(cluster, 9);
  a->stop();
  const auto answers = all_answers(cluster);
  REQUIRE(answers.size() == 9);
  // With the early holdings gone, the late users get the three coupons this time.
  std::set<std::string> late_holders;
  for (size_t i = 0; i < answers.size(); ++i) {
    if (answers[i].accepted && answers[i].user_id[0] == 'l') late_holders.insert(answers[i].user_id);
  }
  CHECK(late_holders == std::set<std::string>{"l0", "l1", "l2"});
}

TEST_CASE("where the cluster can describe groups, reset refuses a group with members without joining it") {
  struct GroupAdmin final : processor::Admin {
    processor::GroupDescription group;
    bool supported() override { return true; }
    std::map<std::string, processor::TopicDescription> describe_topics(const std::vector<std::string>&) override {
      return {};
    }
    std::vector<std::string> create_topics(const std::vector<processor::NewTopic>&) override { return {}; }
    processor::GroupDescription describe_group(const std::string&) override { return group; }
  } admin;
  admin.group = {"Stable", {{"m-1", "b", "/10.0.0.8", "b", {{"coupon-issuance", Partition{0}}}}}};
  EmbeddedCluster cluster(1);
  auto options = reset_options();
  options.join_timeout_ms = 1;  // a join would time out: the answer must come before it
  const auto report = ops::reset_application(cluster.client(), fast_group(), cluster.topology(), options, &admin);
  CHECK_FALSE(report.group_empty);
  CHECK(report.partitions_held_by_others == 1);
  // An empty group goes on to the join.
  admin.group = {"Empty", {}};
  options.join_timeout_ms = 60'000;
  options.dry_run = true;
  CHECK(ops::reset_application(cluster.client(), fast_group(), cluster.topology(), options, &admin).group_empty);
}
