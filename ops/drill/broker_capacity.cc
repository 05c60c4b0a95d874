#include "ops/drill/broker_capacity.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "common/murmur2.h"

namespace couponflow::ops {

namespace {
// Measured here: a record costs its key and value plus ~70 bytes of framing when it is
// alone in its message set; a result is its request's JSON plus ~110 bytes of status,
// issueNo, decidedAt, partition and offset; a holding ~60 bytes; the processor records
// its input position ~10 times a second per partition (~60 bytes each); and a producer
// lingering 5 ms makes at most ~200 message sets a second per partition.
constexpr int64_t kFraming = 70;
constexpr int64_t kResultExtra = 110;
constexpr int64_t kHoldingBytes = 60 + kFraming;
constexpr double kPositionBytesPerSecond = 10 * (60 + kFraming);
constexpr double kMessageSetsPerSecond = 200;
}  // namespace

std::vector<PartitionLoad> estimate_partition_load(const std::vector<PlannedRecord>& records, int partitions,
                                                   double seconds, double results_per_request, int64_t max_accepted) {
  std::vector<int64_t> request_bytes(static_cast<size_t>(partitions)), request_count(static_cast<size_t>(partitions));
  std::vector<int64_t> result_bytes(static_cast<size_t>(partitions));
  for (const auto& r : records) {
    const auto p = static_cast<size_t>(murmur2_partition(r.key.value_or(""), partitions).value);
    const int64_t size = static_cast<int64_t>(r.value.size() + r.key.value_or("").size());
    request_bytes[p] += size + kFraming;
    ++request_count[p];
    result_bytes[p] += static_cast<int64_t>(std::ceil((size + kResultExtra + kFraming) * results_per_request));
  }
  std::vector<PartitionLoad> out;
  auto hottest = [&](const std::string& topic, const std::vector<int64_t>& bytes, int64_t extra_bytes,
                     double sets_factor) {
    const auto it = std::max_element(bytes.begin(), bytes.end());
    const auto p = static_cast<size_t>(it - bytes.begin());
    const double sets = static_cast<double>(request_count[p]) * sets_factor;
    const double cap = seconds > 0 ? seconds * kMessageSetsPerSecond : sets;
    out.push_back({topic, static_cast<int32_t>(p), *it + extra_bytes, static_cast<int64_t>(std::min(sets, cap))});
  };
  hottest("coupon-issuance", request_bytes, 0, 1.0);
  hottest("coupon-issued/coupon-rejected", result_bytes, 0, results_per_request);
  // A holding per accepted request: no more than the partition's requests, nor than the
  // capacity there is.
  std::vector<int64_t> changelog(static_cast<size_t>(partitions));
  for (size_t p = 0; p < changelog.size(); ++p) changelog[p] = std::min(request_count[p], max_accepted) * kHoldingBytes;
  hottest("the issued store's changelog", changelog,
          static_cast<int64_t>(std::max(seconds, 10.0) * kPositionBytesPerSecond), 1.0);
  return out;
}

std::optional<std::string> check_fits(const std::vector<PlannedRecord>& records, int partitions, double seconds,
                                      double results_per_request, int64_t max_accepted,
                                      const BrokerCapacity& capacity) {
  double worst = 0;  // the highest share of a limit any partition needs
  const PartitionLoad* worst_load = nullptr;
  const auto loads = estimate_partition_load(records, partitions, seconds, results_per_request, max_accepted);
  for (const auto& load : loads) {
    const double share = std::max(static_cast<double>(load.bytes) / static_cast<double>(capacity.max_partition_bytes),
                                  static_cast<double>(load.message_sets) / static_cast<double>(capacity.max_message_sets));
    if (share > worst) {
      worst = share;
      worst_load = &load;
    }
  }
  if (worst <= capacity.headroom || worst_load == nullptr) return std::nullopt;
  const auto fits = static_cast<int64_t>(static_cast<double>(records.size()) * capacity.headroom / worst);
  return fmt::format(
      "this load does not fit the embedded broker: partition {} of {} would need ~{:.1f} MB and {} message sets "
      "(it keeps at most {:.0f} MB and {} per partition, dropping the oldest, and verify could then only say "
      "\"cannot verify\"); about {} records of this mix fit (e.g. a lower --rate or --duration, fewer --requests, "
      "or more --partitions)",
      worst_load->partition, worst_load->topic, static_cast<double>(worst_load->bytes) / 1e6, worst_load->message_sets,
      static_cast<double>(capacity.max_partition_bytes) / 1e6, capacity.max_message_sets, fits);
}

}  // namespace couponflow::ops
