#pragma once
// Whether a planned load fits the embedded broker, which keeps at most ~5 MB and 100k
// message sets per partition and silently drops the oldest beyond that (results are
// larger than requests, a hot coupon fills one partition, replays add more). A drill
// that overflowed it would end in "cannot verify" for the broker's loss, not the
// processor's: so it is refused before it starts, saying what would fit.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ops/workload.h"

namespace couponflow::ops {

struct BrokerCapacity {
  int64_t max_partition_bytes = 5 * 1024 * 1024;
  int64_t max_message_sets = 100'000;
  /// The share of each limit a plan may use (the estimate is approximate).
  double headroom = 0.8;
};

/// The estimate for the hottest partition of each topic a drill reads.
struct PartitionLoad {
  std::string topic;
  int32_t partition = 0;
  int64_t bytes = 0;
  int64_t message_sets = 0;
};

/// The fullest partition of the request, result and changelog topics if `records` are
/// sent over `seconds` (0: as one burst) to `partitions` partitions, allowing
/// `results_per_request` answers per request (replays) and `max_accepted` holdings.
std::vector<PartitionLoad> estimate_partition_load(const std::vector<PlannedRecord>& records, int partitions,
                                                   double seconds, double results_per_request, int64_t max_accepted);

/// nullopt if the plan fits; otherwise one sentence saying which partition overflows and
/// what fraction of the load would fit.
std::optional<std::string> check_fits(const std::vector<PlannedRecord>& records, int partitions, double seconds,
                                      double results_per_request, int64_t max_accepted,
                                      const BrokerCapacity& capacity = {});

}  // namespace couponflow::ops
