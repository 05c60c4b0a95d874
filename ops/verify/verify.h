#pragma once
// `couponflow verify`: read every topic of the coupon job from the beginning (and the
// issued store's changelog) and check the contract's invariants.

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <string>

#include "ops/verify/invariant_checker.h"
#include "ops/verify/report.h"
#include "processor/kafka/client_properties.h"
#include "topology/coupon/coupon_topology.h"

namespace couponflow::ops {

/// Reads the topics and checks them, counting each record read into `records_read`
/// (if given: for progress reports from another thread). Throws FatalError when the
/// cluster or a topic cannot be read at all (the CLI's "cannot verify", exit 3).
VerifyReport verify_topics(const kafka::ClientProperties& client, const coupon::CouponTopics& topics,
                           const std::string& application_id = "coupon-processor",
                           std::atomic<uint64_t>* records_read = nullptr);

}  // namespace couponflow::ops
