#pragma once
// What a processor may count. The engine publishes it (to Prometheus, in
// processor/metrics); processors never see the metrics library.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace couponflow::topology {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

/// A monotonic count kept by the one thread that drives the task: a plain add, no
/// atomic operation, so it may sit on the per-record path.
class MetricCounter {
 public:
  void add(uint64_t n = 1) { value_ += n; }
  uint64_t value() const { return value_; }

 private:
  uint64_t value_ = 0;
};

/// Gauges told apart by the value of one label (e.g. a coupon id). The number of keys
/// is capped per instance so the series stay bounded; a key beyond the cap is ignored.
/// Its series exist while the task that set them is open on this instance.
class KeyedGauge {
 public:
  virtual ~KeyedGauge() = default;
  virtual void set(std::string_view key, double value) = 0;
};

/// A processor's metrics, obtained once in Processor::init, used per record.
class ProcessorMetrics {
 public:
  virtual ~ProcessorMetrics() = default;
  /// The counter of `name` with `labels`; every task of the thread shares it.
  virtual MetricCounter& counter(const std::string& name, const std::string& help,
                                 const MetricLabels& labels) = 0;
  /// This task's gauges of `name`, keyed by the value of `label`.
  virtual KeyedGauge& keyed_gauge(const std::string& name, const std::string& help, const std::string& label) = 0;
};

}  // namespace couponflow::topology
