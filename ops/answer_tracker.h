#pragma once
// A result subscriber for the demo and drills: reads coupon-issued, coupon-rejected and
// the DLQ as a downstream service would, counts which request records are answered
// (replayed duplicates once) and how long each request waited for its first answer.
// A request value found on a result topic (a benchmark passthrough copies requests
// there unchanged) counts as its own answer.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "processor/kafka/client_properties.h"
#include "topology/coupon/coupon_topology.h"

namespace couponflow::ops {

/// Role: one consumer thread from construction to stop(). Requests are matched by
/// their requestId "<prefix><index>" for latency. Thread-safe getters.
class AnswerTracker {
 public:
  AnswerTracker(const kafka::ClientProperties& client, const coupon::CouponTopics& topics, int partitions,
                std::string id_prefix, size_t max_requests);
  ~AnswerTracker();

  /// The first send of request `index` (later resends keep the first time).
  void mark_sent(int64_t index);
  /// Request records (by partition and offset) answered by a result or a DLQ entry.
  int64_t answered_records() const { return answered_.load(); }
  /// Stops reading; latencies are final after this.
  void stop();
  /// Microseconds from first send to first answer, for indices [from, to), sorted.
  std::vector<int64_t> latencies_us(int64_t from, int64_t to) const;

 private:
  void run(const kafka::ClientProperties& client, const coupon::CouponTopics& topics, int partitions);

  std::string prefix_;
  std::vector<std::atomic<int64_t>> sent_ns_;
  std::vector<int64_t> latency_us_;  // -1: not answered; written by the thread only
  std::unordered_set<uint64_t> positions_;
  std::unordered_set<uint64_t> echo_positions_;  // requests echoed by a passthrough
  std::atomic<int64_t> answered_{0};
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;  // latency_us_ after stop()
  std::thread thread_;
};

/// The value at quantile q of a sorted vector (0 for an empty one).
int64_t percentile(const std::vector<int64_t>& sorted, double q);

}  // namespace couponflow::ops
