#pragma once
// Every metric one stream thread keeps, and their publication to a Prometheus registry.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "processor/metrics/local_histogram.h"
#include "topology/metrics.h"

namespace prometheus {
class Registry;
}

namespace couponflow::processor {

using topology::MetricCounter;
using topology::MetricLabels;

/// A gauge the thread sets; its series disappears when it is removed.
class GaugeCell {
 public:
  void set(double value) { value_ = value; }
  double value() const { return value_; }

 private:
  friend class ThreadMetrics;
  double value_ = 0;
  std::string key_;  // its entry in ThreadMetrics
};

/// Role: owns the counters, histograms and gauges of one stream thread (and of the
/// tasks it drives). They are plain values, written without atomics on the hot path;
/// publish() copies what changed into the registry, from the same thread, so a scrape
/// (on the HTTP thread) reads only prometheus-cpp's thread-safe objects.
/// Without a registry nothing is published, and the values can still be read (tests,
/// the test driver).
/// Cells are identified by name and labels: asking twice returns the same cell.
/// Thread: confined to the stream thread, like the tasks.
class ThreadMetrics {
 public:
  /// `gauge_labels` are added to every gauge's series: the threads of an instance set
  /// gauges of the same name (counters and histograms add up, gauges would overwrite
  /// each other), e.g. {"thread", "StreamThread-2"}.
  explicit ThreadMetrics(std::shared_ptr<prometheus::Registry> registry = nullptr, MetricLabels gauge_labels = {});
  ~ThreadMetrics();
  ThreadMetrics(const ThreadMetrics&) = delete;
  ThreadMetrics& operator=(const ThreadMetrics&) = delete;

  MetricCounter& counter(const std::string& name, const std::string& help, const MetricLabels& labels = {});
  LocalHistogram& histogram(const std::string& name, const std::string& help, const MetricLabels& labels,
                            const std::vector<double>& bounds);
  GaugeCell& gauge(const std::string& name, const std::string& help, const MetricLabels& labels = {});
  /// A gauge of the whole instance, which one thread sets: without the gauge labels.
  GaugeCell& instance_gauge(const std::string& name, const std::string& help, const MetricLabels& labels = {});
  /// Drops the gauge and its series; the reference is invalid afterwards.
  void remove(GaugeCell& gauge);
  /// How many gauges named `name` exist (to cap keyed gauges).
  size_t gauge_count(const std::string& name) const;

  /// Copies every change since the last call into the registry.
  void publish();

  /// A counter's value, 0 if it does not exist (for tests and summaries).
  uint64_t counter_value(const std::string& name, const MetricLabels& labels = {}) const;
  /// Summed over every label set of `name`.
  uint64_t counter_sum(const std::string& name) const;
  const GaugeCell* find_gauge(const std::string& name, const MetricLabels& labels = {}) const;

  /// Latency buckets, in seconds.
  static const std::vector<double>& fast_latency_buckets();  // 1 us .. 100 ms
  static const std::vector<double>& slow_latency_buckets();  // 1 ms .. 10 min

 private:
  struct Families;
  struct CounterEntry {
    std::string name;
    MetricLabels labels;
    MetricCounter cell;
    uint64_t published = 0;
    void* target = nullptr;  // prometheus::Counter
  };
  struct HistogramEntry {
    std::string name;
    MetricLabels labels;
    LocalHistogram cell;
    void* target = nullptr;  // prometheus::Histogram
  };
  struct GaugeEntry {
    std::string name;
    MetricLabels labels;
    GaugeCell cell;
    void* target = nullptr;  // prometheus::Gauge
    bool per_thread = true;  // carries the gauge labels
  };
  GaugeCell& gauge(const std::string& name, const std::string& help, const MetricLabels& labels, bool per_thread);
  static std::string key(const std::string& name, const MetricLabels& labels);

  std::shared_ptr<prometheus::Registry> registry_;
  MetricLabels gauge_labels_;
  std::unique_ptr<Families> families_;
  std::map<std::string, std::unique_ptr<CounterEntry>> counters_;
  std::map<std::string, std::unique_ptr<HistogramEntry>> histograms_;
  std::map<std::string, std::unique_ptr<GaugeEntry>> gauges_;
  std::map<std::string, std::string> help_;  // by metric name
  std::map<std::string, size_t> gauge_counts_;  // by metric name
};

}  // namespace couponflow::processor
