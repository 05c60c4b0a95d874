// Broker faults mid-load: the processor retries, never skips, and ends exactly right.

#include <doctest/doctest.h>

#include "tests/support/embedded_cluster.h"

using namespace couponflow;
using namespace couponflow::testing;

TEST_CASE("a broker outage of several seconds mid-load ends with verify green and the processor running") {
  COUPONFLOW_EACH_GUARANTEE(guarantee);
  EmbeddedCluster cluster(4);
  cluster.set_guarantee(guarantee);
  TempDir state;
  cluster.define("a", 300);
  cluster.define("b", 5000);
  auto instance = cluster.start(state.path(), "p1");
  EmbeddedCluster::wait_until_running({instance.get()}, 4);
  for (int i = 0; i < 2000; ++i) cluster.request(fmt::format("r{}", i), i % 3 ? "b" : "a", fmt::format("u{}", i % 1500));
  cluster.flush();

  cluster.broker().set_broker_down(1);  // the only broker: nothing is reachable
  std::this_thread::sleep_for(std::chrono::seconds(4));
  CHECK_FALSE(instance->done());
  cluster.broker().set_broker_up(1);

  for (int i = 2000; i < 3000; ++i) cluster.request(fmt::format("r{}", i), i % 3 ? "b" : "a", fmt::format("u{}", i % 1500));
  cluster.flush();
  cluster.wait_for_answers(3000, std::chrono::seconds(90));
  CHECK_FALSE(instance->done());
  auto report = cluster.verify();
  CHECK_MESSAGE(report.ok(), ops::format_report(report));
  CHECK(report.coupons.at("a").accepted == 300);
}

TEST_CASE("injected request errors on produce, fetch and offset commit are retried, nothing is skipped") {
  COUPONFLOW_EACH_GUARANTEE(guarantee);
  EmbeddedCluster cluster(3);
  cluster.set_guarantee(guarantee);
  TempDir state;
  cluster.define("c", 1000);
  auto instance = cluster.start(state.path(), "p1");
  EmbeddedCluster::wait_until_running({instance.get()}, 3);
  for (int round = 0; round < 4; ++round) {
    cluster.broker().push_request_errors("Produce", {"NOT_LEADER_FOR_PARTITION", "REQUEST_TIMED_OUT", "_TRANSPORT"});
    cluster.broker().push_request_errors("Fetch", {"NOT_LEADER_FOR_PARTITION", "_TRANSPORT"});
    cluster.broker().push_request_errors("OffsetCommit", {"REQUEST_TIMED_OUT", "COORDINATOR_NOT_AVAILABLE"});
    for (int i = 0; i < 500; ++i) {
      const int n = round * 500 + i;
      cluster.request(fmt::format("r{}", n), "c", fmt::format("u{}", n % 1800));
    }
    cluster.flush();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  cluster.wait_for_answers(2000, std::chrono::seconds(90));
  CHECK_FALSE(instance->done());
  auto report = cluster.verify();
  CHECK_MESSAGE(report.ok(), ops::format_report(report));
  CHECK(report.coupons.at("c").accepted == 1000);
}

TEST_CASE("exactly_once_v2: a 30 s broker outage mid-load stalls the instance, which resumes and answers everything") {
  // During the outage the group loses the instance (session timeout), so its open
  // transaction must be aborted while nothing answers: it keeps trying, stays alive and
  // healthy, and once the broker is back it rejoins and finishes the work.
  EmbeddedCluster cluster(3);
  cluster.set_guarantee(processor::Guarantee::kExactlyOnceV2);
  TempDir state;
  cluster.define("a", 2000);
  cluster.define("b", 300);
  auto instance = cluster.start(state.path(), "p1");
  EmbeddedCluster::wait_until_running({instance.get()}, 3);
  int sent = 0;
  auto send = [&](int n) {
    for (int i = 0; i < n; ++i, ++sent) {
      cluster.request(fmt::format("r{}", sent), sent % 4 ? "a" : "b", fmt::format("u{}", sent % 2500));
    }
  };
  send(1500);
  cluster.flush();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // mid-load: some of it is being processed

  cluster.broker().set_broker_down(1);
  send(500);  // queued by the test's producer until the broker is back
  for (int s = 0; s < 30; ++s) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    REQUIRE_MESSAGE(!instance->done(), "the instance stopped during the outage: " << instance->error());
    const int64_t idle_ms = EmbeddedCluster::now() - instance->last_step_ms();
    CHECK_MESSAGE(idle_ms < 15'000, "the stream thread looks wedged (" << idle_ms << " ms since its last round)");
  }
  cluster.broker().set_broker_up(1);

  send(1000);
  cluster.flush();
  cluster.wait_until_all_answered(std::chrono::seconds(120));
  CHECK_FALSE(instance->done());
  auto report = cluster.verify();
  CHECK_MESSAGE(report.ok(), ops::format_report(report));
  CHECK(report.coupons.at("b").accepted == 300);
}
