#pragma once
// `couponflow verify`: read every topic of the coupon job from the beginning and check
// the contract's invariants.

#include <cstdio>
#include <string>

#include "ops/verify/invariant_checker.h"
#include "processor/kafka/client_properties.h"
#include "topology/coupon/coupon_topology.h"

namespace couponflow::ops {

VerifyReport verify_topics(const kafka::ClientProperties& client, const coupon::CouponTopics& topics);

/// The summary `verify` prints: totals, a table per coupon, violations, the verdict.
std::string format_report(const VerifyReport& report, size_t max_coupon_rows = 50);

}  // namespace couponflow::ops
