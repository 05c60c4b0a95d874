#pragma once
// The partition count an application runs with, checked at start and while it runs.
//
// A coupon's issued count lives in the task of the partition murmur2 maps it to. If
// `coupon-issuance` (or the co-partitioned catalog) gained partitions under a running
// application, requests for that coupon would start arriving in another partition,
// whose task starts counting from zero: one coupon, two counters. So a change stops the
// processor before it decides anything under the new partitioning.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace couponflow::processor {

/// Checks that every topic in `topics` has the same partition count as `primary` in
/// `observed` and, when `expected` is given, that it is still that count. Returns the
/// count. Throws FatalError naming the topics and how to migrate.
int32_t check_partitioning(const std::string& primary, const std::vector<std::string>& topics,
                           const std::map<std::string, int32_t>& observed, std::optional<int32_t> expected);

}  // namespace couponflow::processor
