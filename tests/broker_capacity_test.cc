// Drills on the embedded broker refuse, before they start, a load its partitions cannot
// keep: verify would otherwise judge a broker that dropped records.

#include <doctest/doctest.h>

#include "common/murmur2.h"
#include "ops/drill/broker_capacity.h"
#include "ops/workload.h"

using namespace couponflow::ops;

TEST_CASE("a drill load that would overflow an embedded broker partition is refused, saying what fits") {
  const auto coupons = balanced_catalog(12, 2, "drill", {20'000, 5'000, 50'000, 2'000});
  RequestMix mix;
  mix.users = 100'000;
  const auto small = plan_requests(coupons, 0, 60'000, mix);
  CHECK_FALSE(check_fits(small, 12, 30, 1.5, 200'000).has_value());

  const auto big = plan_requests(coupons, 0, 300'000, mix);
  const auto why = check_fits(big, 12, 60, 1.5, 200'000);
  REQUIRE(why.has_value());
  CHECK(why->find("does not fit the embedded broker") != std::string::npos);
  CHECK(why->find("coupon-issued/coupon-rejected") != std::string::npos);  // results outgrow requests
  CHECK(why->find("records of this mix fit") != std::string::npos);

  // The hot coupon's partition is the one that overflows first.
  const auto loads = estimate_partition_load(big, 12, 60, 1.5, 200'000);
  const auto hot = couponflow::murmur2_partition(coupons[0].id, 12).value;
  CHECK(loads.at(1).partition == hot);
  // A burst is bounded by bytes, a slow trickle also by message sets.
  const auto trickle = estimate_partition_load(small, 12, 1'000'000, 1.5, 200'000);
  CHECK(trickle.at(0).message_sets > estimate_partition_load(small, 12, 1, 1.5, 200'000).at(0).message_sets);
}
