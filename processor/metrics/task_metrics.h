#pragma once
// The metrics of one task: the engine's per-record ones and what its processors count.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/types.h"
#include "processor/metrics/thread_metrics.h"
#include "topology/metrics.h"

namespace couponflow::processor {

/// Role: the cells a task updates per record (resolved once, so the hot path is a
/// few plain adds), and the ProcessorMetrics its processors see. Counters are the
/// thread's, shared by its tasks; keyed gauges are the task's own and their series
/// are removed when it closes, so a task that moved to another instance leaves no
/// stale value here.
/// Thread: confined to the task's thread.
class TaskMetrics final : public topology::ProcessorMetrics {
 public:
  /// `max_keyed_series`: cap on the series of one keyed gauge name, for the thread.
  TaskMetrics(ThreadMetrics& thread, const std::vector<TopicPartition>& sources, size_t max_keyed_series);
  ~TaskMetrics() override;

  MetricCounter& counter(const std::string& name, const std::string& help, const MetricLabels& labels) override;
  topology::KeyedGauge& keyed_gauge(const std::string& name, const std::string& help,
                                    const std::string& label) override;

  std::vector<MetricCounter*> processed;           // per source
  std::vector<LocalHistogram*> end_to_end_latency;  // per source, seconds
  LocalHistogram* process_latency;                 // seconds
  MetricCounter* retries;
  MetricCounter* dead_lettered;  // processing errors sent to the DLQ

 private:
  class Keyed;
  ThreadMetrics& thread_;
  size_t max_keyed_series_;
  std::map<std::string, std::unique_ptr<Keyed>> keyed_;
};

}  // namespace couponflow::processor
