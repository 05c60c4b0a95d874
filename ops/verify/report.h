#pragma once
// What verify prints: the text summary, the contract's JSON object, and its exit code.

#include <cstddef>
#include <string>

#include "ops/verify/invariant_checker.h"

namespace couponflow::ops {

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
