// Standby replicas: a failover restores only a changelog tail instead of the whole store.

#include <doctest/doctest.h>

#include <set>

#include "common/murmur2.h"
#include "tests/support/embedded_cluster.h"
#include "tests/support/fleet_checks.h"
#include "ops/fleet.h"

using namespace couponflow;
using namespace couponflow::testing;

namespace {

struct Failover {
  int64_t restored = 0;      // issued-store records the survivor restored for the dead one's tasks
  double restore_seconds = 0;  // how long those restores took, from the survivor's log
  int64_t holdings = 0;      // what the dead instance's tasks held
};

/// Two instances with large stores; `a` is SIGKILLed; what did `b` restore to take over?
Failover kill_and_take_over(bool standby) {
  constexpr int kPartitions = 4;
  constexpr int kPerPartition = 12'000;  // 12k holdings a partition, results under the 5 MB cap
  EmbeddedCluster cluster(kPartitions);
  TempDir dir;
  std::vector<std::string> coupons(kPartitions);
  for (int n = 0, found = 0; found < kPartitions; ++n) {
    auto id = fmt::format("big-{}", n);
    auto p = murmur2_partition(id, kPartitions).value;
    if (coupons[p].empty()) {
      coupons[p] = id;
      ++found;
    }
  }
  for (const auto& c : coupons) cluster.define(c, 1'000'000);
  ops::Fleet fleet(COUPONFLOW_BIN, cluster.bootstrap(), dir.path(),
                   {"-X", "consumer.session.timeout.ms=3000", "-X", "consumer.heartbeat.interval.ms=500"});
  std::vector<std::string> flags;
  if (standby) flags = {"-X", "num.standby.replicas=1"};
  fleet.start("a", flags);
  fleet.start("b", flags);
  for (int i = 0; i < kPartitions * kPerPartition; ++i) {
    cluster.request(fmt::format("r{}", i), coupons[i % kPartitions], fmt::format("u{}", i));
  }
  cluster.flush();
  cluster.wait_until_all_answered();
  std::this_thread::sleep_for(std::chrono::seconds(2));  // standbys catch up and checkpoint

  std::set<int> owned_by_a;
  for (const auto& o : fleet.ownership()) {
    if (o.instance == "a" && o.to_ms == INT64_MAX) owned_by_a.insert(o.partition);
  }
  REQUIRE_FALSE(owned_by_a.empty());
  fleet.kill("a");
  cluster.request("after-kill", coupons[*owned_by_a.begin()], "late-user");
  cluster.flush();
  cluster.wait_until_all_answered();  // b has taken over and decided it
  check_graceful_stop(fleet, "b");

  Failover f;
  f.holdings = static_cast<int64_t>(owned_by_a.size()) * kPerPartition;
  for (const auto& r : fleet.restores()) {
    if (r.instance == "b" && owned_by_a.contains(r.partition)) {
      f.restored += r.records;
      f.restore_seconds += r.seconds;
    }
  }
  auto report = cluster.verify();
  CHECK_MESSAGE(report.ok(), ops::format_report(report));
  return f;
}

}  // namespace

TEST_CASE("with standby replicas a failover restores a tail, without them the whole store") {
  const Failover cold = kill_and_take_over(false);
  const Failover warm = kill_and_take_over(true);
  MESSAGE("without standby: restored " << cold.restored << " records in " << cold.restore_seconds
                                       << " s; with standby: " << warm.restored << " records in "
                                       << warm.restore_seconds << " s");
  CHECK(cold.restored >= cold.holdings);  // every holding, plus the catalog rows
  CHECK(warm.restored < warm.holdings / 10);
}
