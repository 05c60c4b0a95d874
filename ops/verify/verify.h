#pragma once
// `couponflow verify`: read every topic of the coupon job from the beginning (and the
// issued store's changelog) and check the contract's invariants.

#include <cstdio>
#include <string>

#include "ops/verify/invariant_checker.h"
#include "processor/kafka/client_properties.h"
#include "topology/coupon/coupon_topology.h"

namespace couponflow::ops {

/// Reads the topics and checks them. Throws FatalError when the cluster or a topic
/// cannot be read at all (the CLI's "cannot verify", exit 3).
VerifyReport verify_topics(const kafka::ClientProperties& client, const coupon::CouponTopics& topics,
                           const std::string& application_id = "coupon-processor");

/// The summary `verify` prints: totals, a table per coupon, violations, the verdict.
std::string format_report(const VerifyReport& report, size_t max_coupon_rows = 50);
/// The contract's JSON object (one line): verdict, totals, samples, and a reason when
/// the verdict is cannot_verify.
std::string format_report_json(const VerifyReport& report);
/// The JSON object of a verify that could not read the cluster at all.
std::string cannot_read_json(const std::string& reason);

/// The exit code of a verdict: 0 pass, 1 fail, 3 cannot verify.
int exit_code(Verdict verdict);

}  // namespace couponflow::ops
