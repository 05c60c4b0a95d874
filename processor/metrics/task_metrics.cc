#include "processor/metrics/task_metrics.h"

#include <string_view>
#include <unordered_map>

#include "common/string_hash.h"

namespace couponflow::processor {

class TaskMetrics::Keyed final : public topology::KeyedGauge {
 public:
  Keyed(TaskMetrics& owner, std::string name, std::string help, std::string label)
      : owner_(owner), name_(std::move(name)), help_(std::move(help)), label_(std::move(label)) {}
  ~Keyed() override {
    for (auto& [key, cell] : cells_) owner_.thread_.remove(*cell);
  }

  void set(std::string_view key, double value) override {
    auto it = cells_.find(key);
    if (it == cells_.end()) {
      if (owner_.thread_.gauge_count(name_) >= owner_.max_keyed_series_) return;
      GaugeCell& cell = owner_.thread_.gauge(name_, help_, {{label_, std::string(key)}});
      it = cells_.emplace(std::string(key), &cell).first;
    }
    it->second->set(value);
  }

 private:
  // Heterogeneous lookup: no string is built per record for a known key.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return hash_string(s); }
  };
  TaskMetrics& owner_;
  std::string name_, help_, label_;
  std::unordered_map<std::string, GaugeCell*, Hash, std::equal_to<>> cells_;
};

TaskMetrics::TaskMetrics(ThreadMetrics& thread, const std::vector<TopicPartition>& sources,
                         size_t max_keyed_series)
    : thread_(thread), max_keyed_series_(max_keyed_series) {
  for (const auto& tp : sources) {
    const MetricLabels labels{{"topic", tp.topic}, {"partition", std::to_string(tp.partition.value)}};
    processed.push_back(&thread.counter("couponflow_records_processed_total", "Input records a task has processed.", labels));
    end_to_end_latency.push_back(&thread.histogram(
        "couponflow_end_to_end_latency_seconds",
        "Wall clock at processing minus the record's timestamp (for requests: the client's send time).",
        {{"topic", tp.topic}}, ThreadMetrics::slow_latency_buckets()));
  }
  process_latency = &thread.histogram("couponflow_process_latency_seconds",
                                      "Time to process one input record in its task (a batch's duration over its records).", {},
                                      ThreadMetrics::fast_latency_buckets());
  retries = &thread.counter("couponflow_processing_retries_total",
                            "Processing tries that threw (each is retried, or the record dead-lettered).", {});
  dead_lettered = &thread.counter("couponflow_dlq_records_total", "Records sent to the dead-letter topic.",
                                  {{"reason", "PROCESSING_ERROR"}});
}

TaskMetrics::~TaskMetrics() = default;

MetricCounter& TaskMetrics::counter(const std::string& name, const std::string& help, const MetricLabels& labels) {
  return thread_.counter(name, help, labels);
}

topology::KeyedGauge& TaskMetrics::keyed_gauge(const std::string& name, const std::string& help,
                                               const std::string& label) {
  auto& k = keyed_[name];
  if (!k) k = std::make_unique<Keyed>(*this, name, help, label);
  return *k;
}

}  // namespace couponflow::processor
