// The coupon job end to end on the embedded broker (real Kafka protocol over loopback).

#include <doctest/doctest.h>

#include <barrier>
#include <map>
#include <set>

#include "common/murmur2.h"
#include "ops/instance_events_reader.h"
#include "state/materialized_store.h"
#include "tests/support/embedded_cluster.h"

using namespace couponflow;
using namespace couponflow::testing;
using couponflow::processor::InstanceEventKind;
using couponflow::processor::TaskState;

namespace {
std::string describe(const ops::VerifyReport& report) { return ops::format_report(report); }
}  // namespace

TEST_CASE("100 simultaneous requests for a coupon of capacity 10 issue exactly 10") {
  COUPONFLOW_EACH_GUARANTEE(guarantee);
  EmbeddedCluster cluster(3);
  cluster.set_guarantee(guarantee);
  TempDir state;
  cluster.define("flash", 10);
  auto instance = cluster.start(state.path(), "p1");
  EmbeddedCluster::wait_until_running({instance.get()}, 3);

  constexpr int kUsers = 100;
  std::barrier start(kUsers);
  std::vector<std::thread> users;
  for (int i = 0; i < kUsers; ++i) {
    users.emplace_back([&, i] {
      start.arrive_and_wait();  // all 100 send at once
      cluster.request(fmt::format("req-{}", i), "flash", fmt::format("user-{}", i));
    });
  }
  for (auto& t : users) t.join();
  cluster.flush();
  cluster.wait_for_answers(kUsers);

  std::set<int64_t> issue_nos;
  int sold_out = 0;
  for (const auto& r : cluster.results()) {
    if (r.accepted) {
      issue_nos.insert(r.issue_no);
    } else {
      CHECK(r.reason == "SOLD_OUT");
      ++sold_out;
    }
  }
  CHECK(issue_nos == std::set<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  CHECK(sold_out == 90);
  auto report = cluster.verify();
  CHECK_MESSAGE(report.ok(), describe(report));
  CHECK(report.coupons.at("flash").accepted == 10);
}

TEST_CASE("a restart with the state directory kept resumes from the checkpoint") {
  COUPONFLOW_EACH_GUARANTEE(guarantee);
  EmbeddedCluster cluster(2);
  cluster.set_guarantee(guarantee);
  TempDir state;
  cluster.define("c", 1000);
  {
    auto instance = cluster.start(state.path(), "p1");
    EmbeddedCluster::wait_until_running({instance.get()}, 2);
    for (int i = 0; i < 300; ++i) cluster.request(fmt::format("r{}", i), "c", fmt::format("u{}", i));
    cluster.flush();
    cluster.wait_for_answers(300);
    instance->stop();  // graceful: commits and checkpoints
    REQUIRE(instance->error().empty());
  }
  for (int i = 300; i < 400; ++i) cluster.request(fmt::format("r{}", i), "c", fmt::format("u{}", i % 350));
  cluster.flush();

  auto instance = cluster.start(state.path(), "p1");
  EmbeddedCluster::wait_until_running({instance.get()}, 2);
  cluster.wait_for_answers(400);
  // Nothing was re-read from the changelog: the stores were already at its end.
  for (const auto& t : instance->status().tasks) CHECK(t.restored == 0);
  const auto results = cluster.results();
  std::map<std::string, coupon::CouponResult> by_id;
  for (const auto& r : results) by_id[r.request_id] = r;
  CHECK(by_id.at("r299").issue_no == 300);
  CHECK(by_id.at("r300").issue_no == 301);              // u300 is new: issuing continues
  CHECK(by_id.at("r350").reason == "ALREADY_ISSUED");  // u0 already holds one
  auto report = cluster.verify();
  CHECK_MESSAGE(report.ok(), describe(report));
  CHECK(report.coupons.at("c").accepted == 350);
}

TEST_CASE("restore drill: a wiped state directory is rebuilt from the changelog and judging stays right") {
  COUPONFLOW_EACH_GUARANTEE(guarantee);
  EmbeddedCluster cluster(2);
  cluster.set_guarantee(guarantee);
  TempDir state;
  cluster.define("small", 50);
  cluster.define("big", 5000);
  {
    auto instance = cluster.start(state.path(), "p1");
    EmbeddedCluster::wait_until_running({instance.get()}, 2);
    for (int i = 0; i < 2000; ++i) {
      cluster.request(fmt::format("r{}", i), i % 2 ? "small" : "big", fmt::format("u{}", i / 2));
    }
    cluster.flush();
    cluster.wait_for_answers(2000);
    instance->stop();
  }
  std::filesystem::remove_all(state.path());  // the drill: wipe everything local

  // The same users again (every one already holds what they could get), plus new ones.
  for (int i = 0; i < 2000; ++i) {
    cluster.request(fmt::format("again-{}", i), i % 2 ? "small" : "big", fmt::format("u{}", i / 2));
  }
  for (int i = 0; i < 200; ++i) cluster.request(fmt::format("new-{}", i), "big", fmt::format("new-user-{}", i));
  cluster.flush();
  uint64_t positions = 0;  // recorded by the first run
  kafka::read_topics(cluster.client(), {"coupon-processor-issued-changelog"}, [&](kafka::ReadRecord&& r) {
    positions += r.key == state::kSourceOffsetsKey ? 1 : 0;
  });

  TempDir events;
  auto config = cluster.config(state.path(), "p1");
  config.events_file = events.path() / "events";
  auto instance = std::make_unique<ProcessorInstance>(cluster.topology(), config);
  EmbeddedCluster::wait_until_running({instance.get()}, 2);
  cluster.wait_for_answers(4200);
  uint64_t restored = 0;
  for (const auto& t : instance->status().tasks) restored += t.restored;
  // The events file tells programs the same: each task restored its changelog from the
  // start (a partition without holdings has nothing to restore), then ran.
  using Transition = std::pair<std::optional<TaskState>, std::optional<TaskState>>;
  std::map<int, std::vector<Transition>> states;
  std::map<int, int64_t> issued_from, restored_by_event;
  for (const auto& e : ops::read_instance_events(config.events_file)) {
    if (e.kind == InstanceEventKind::kTaskState) states[e.partition].emplace_back(e.from, e.to);
    if (e.kind == InstanceEventKind::kRestoreStarted && e.store == "issued") issued_from[e.partition] = e.from_offset;
    if (e.kind == InstanceEventKind::kTaskRestored) restored_by_event[e.partition] += e.records;
  }
  for (int p = 0; p < 2; ++p) {
    CHECK(states[p] == std::vector<Transition>{{TaskState::kCreated, TaskState::kRestoring},
                                               {TaskState::kRestoring, TaskState::kRunning}});
  }
  CHECK_FALSE(issued_from.empty());
  for (const auto& [p, from] : issued_from) CHECK(from == 0);
  CHECK(restored_by_event[0] + restored_by_event[1] == static_cast<int64_t>(restored));
  // Every holding came back from the changelog, and both definitions from the catalog,
  // and the input positions recorded with the holdings.
  CHECK(positions > 0);
  CHECK(restored == 50 + 1000 + 2 + positions);

  std::map<std::string, coupon::CouponResult> by_id;
  for (const auto& r : cluster.results()) by_id[r.request_id] = r;
  for (int i = 0; i < 2000; ++i) {
    const auto& again = by_id.at(fmt::format("again-{}", i));
    const auto& first = by_id.at(fmt::format("r{}", i));
    // A holder is never issued twice; a sold-out coupon stays sold out.
    CHECK(again.reason == (first.accepted ? "ALREADY_ISSUED" : "SOLD_OUT"));
  }
  CHECK(by_id.at("new-0").issue_no == 1001);
  auto report = cluster.verify();
  CHECK_MESSAGE(report.ok(), describe(report));
  CHECK(report.coupons.at("small").accepted == 50);
  CHECK(report.coupons.at("big").accepted == 1200);
}

TEST_CASE("misrouted records are never counted and land in the DLQ as MISROUTED") {
  COUPONFLOW_EACH_GUARANTEE(guarantee);
  EmbeddedCluster cluster(3);
  cluster.set_guarantee(guarantee);
  TempDir state;
  cluster.define("c", 1);
  auto instance = cluster.start(state.path(), "p1");
  EmbeddedCluster::wait_until_running({instance.get()}, 3);
  const Partition home = murmur2_partition("c", 3);
  const Partition wrong{(home.value + 1) % 3};
  cluster.request("wrong-partition", "c", "u1", wrong);
  cluster.request("wrong-key", "c", "u2", home, std::string("not-c"));
  cluster.request("right", "c", "u3");
  cluster.flush();
  cluster.wait_for_answers(3);

  const auto dlq = cluster.dlq();
  REQUIRE(dlq.size() == 2);
  for (const auto& entry : dlq) CHECK(entry.header("dlq.reason") == "MISROUTED");
  const auto results = cluster.results();
  REQUIRE(results.size() == 1);
  CHECK(results[0].request_id == "right");
  CHECK(results[0].issue_no == 1);  // the misrouted ones took nothing
  auto report = cluster.verify();
  CHECK_MESSAGE(report.ok(), describe(report));
}
