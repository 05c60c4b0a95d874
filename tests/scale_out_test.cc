// Several `couponflow process` instances of one group under load while instances are
// killed, restarted, added and removed.

#include <doctest/doctest.h>

#include <thread>

#include "common/murmur2.h"
#include "tests/support/background_load.h"
#include "tests/support/embedded_cluster.h"
#include "tests/support/fleet_checks.h"
#include "ops/fleet.h"

using namespace couponflow;
using namespace couponflow::testing;

TEST_CASE("3 instances under load, one killed and restarted, another added and removed: I1-I5 hold") {
  // Two coupons per partition and ~800 requests/s keep every partition of every topic
  // far below the embedded broker's 5 MB cap, replays after kills included.
  constexpr int kPartitions = 12;
  COUPONFLOW_EACH_GUARANTEE(guarantee);
  EmbeddedCluster cluster(kPartitions);
  cluster.set_guarantee(guarantee);
  TempDir dir;
  const std::vector<std::string> coupons = EmbeddedCluster::coupons_spread(kPartitions, 2, "coupon-");
  for (size_t c = 0; c < coupons.size(); ++c) cluster.define(coupons[c], 100 + 50 * static_cast<int64_t>(c));
  ops::Fleet fleet(COUPONFLOW_BIN, cluster.bootstrap(), dir.path(),
                   {"-X", "consumer.session.timeout.ms=3000", "-X", "consumer.heartbeat.interval.ms=500"});
  for (const char* name : {"a", "b", "c"}) fleet.start(name, cluster.guarantee_flags());

  // Load at ~800 requests/s from the test, for the whole scenario.
  BackgroundLoad load(cluster, coupons, 4000, 5);
  auto pause = [](int seconds) { std::this_thread::sleep_for(std::chrono::seconds(seconds)); };

  pause(6);
  for (int round = 0; round < 3; ++round) {  // c crashes and comes back, three times
    fleet.kill("c");
    pause(4);
    fleet.start("c", cluster.guarantee_flags());
    pause(5);
  }
  fleet.start("d", cluster.guarantee_flags());  // scale out...
  pause(7);
  check_graceful_stop(fleet, "d");  // ...and back in, gracefully
  pause(5);
  load.stop();

  cluster.wait_until_all_answered(std::chrono::seconds(120));
  for (const char* name : {"a", "b", "c"}) CHECK_MESSAGE(fleet.running(name), name << " is not running");
  for (const char* name : {"a", "b", "c"}) check_graceful_stop(fleet, name);

  auto report = cluster.verify();
  CHECK_MESSAGE(report.ok(), ops::format_report(report));
  CHECK(report.requests == load.sent());
  check_one_owner_at_a_time(fleet, kPartitions);
}
