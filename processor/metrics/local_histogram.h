#pragma once
// A histogram filled by one thread without atomics, drained into Prometheus at publish.

#include <cstdint>
#include <vector>

namespace couponflow::processor {

/// Role: per-bucket counts (not cumulative) and a sum, for observations made on the
/// hot path. ThreadMetrics::publish hands the counts to a prometheus::Histogram
/// (ObserveMultiple) and clears them.
/// Thread: confined to its stream thread.
class LocalHistogram {
 public:
  explicit LocalHistogram(std::vector<double> bounds)
      : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0.0) {}

  void observe(double value) { observe_n(value, 1); }
  /// n observations of the same value (e.g. a batch's duration over its records).
  void observe_n(double value, uint64_t n) {
    // A linear scan: the bucket lists are short and most values land in the first few.
    size_t i = 0;
    while (i < bounds_.size() && value > bounds_[i]) ++i;
    counts_[i] += static_cast<double>(n);
    sum_ += value * static_cast<double>(n);
    pending_ += n;
  }

  const std::vector<double>& bounds() const { return bounds_; }
  /// Observations since the last drain, per bucket; the last bucket is +Inf.
  const std::vector<double>& counts() const { return counts_; }
  double sum() const { return sum_; }
  uint64_t pending() const { return pending_; }
  /// Every observation ever made (drained or not).
  uint64_t total() const { return drained_ + pending_; }

  void drain() {
    for (auto& c : counts_) c = 0;
    sum_ = 0;
    drained_ += pending_;
    pending_ = 0;
  }

 private:
  std::vector<double> bounds_;
  std::vector<double> counts_;
  double sum_ = 0;
  uint64_t pending_ = 0;
  uint64_t drained_ = 0;
};

}  // namespace couponflow::processor
