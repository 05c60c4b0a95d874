// StreamThread: its metrics (docs/metrics.md) and readiness.
#include "processor/stream_thread_internal.h"

#include "common/build_info.h"

namespace couponflow::processor {

namespace {
// Metrics are copied to the registry this often; RocksDB sizes less often.
constexpr EpochMillis kPublishIntervalMs = 100;
constexpr EpochMillis kStoreSizeIntervalMs = 1000;
}  // namespace

bool ThreadStatus::ready() const { return not_ready_reason().empty(); }

std::string ThreadStatus::not_ready_reason() const {
  if (!running) return "not running (starting or shutting down)";
  if (!joined) return "joining the consumer group";
  size_t restoring = 0;
  size_t other = 0;
  for (const auto& t : tasks) {
    if (t.state == TaskState::kRestoring) ++restoring;
    else if (t.state != TaskState::kRunning) ++other;
  }
  if (restoring > 0) return fmt::format("restoring {} of {} task(s)", restoring, tasks.size());
  if (other > 0) return fmt::format("{} of {} task(s) not running yet", other, tasks.size());
  return "";
}

void StreamThread::init_metrics(std::shared_ptr<prometheus::Registry> registry) {
  const std::string suffix = thread_suffix();
  metrics_ = std::make_unique<ThreadMetrics>(std::move(registry),
                                             suffix.empty() ? MetricLabels{} : MetricLabels{{"thread", suffix}});
  ThreadMetrics& m = *metrics_;
  engine_metrics_ = std::make_unique<EngineMetrics>();
  EngineMetrics& e = *engine_metrics_;
  // What describes the whole instance, its first thread publishes.
  if (thread_index_ == 0) {
    m.instance_gauge("couponflow_info", "Identifies the instance (always 1).",
                     {{"application_id", config_.application_id},
                      {"instance_id", config_.instance_id},
                      {"guarantee", exactly_once() ? "exactly_once_v2" : "at_least_once"},
                      {"version", std::string(build_version())},
                      {"stream_threads", std::to_string(context_->thread_count())}})
        .set(1);
    e.ready = &m.instance_gauge("couponflow_ready",
                                "1 when every assigned task of every thread has restored and runs (/readyz), else 0.");
    e.cache_bytes = &m.instance_gauge("couponflow_store_cache_bytes",
                                      "Bytes held by the store caches of every task and standby.");
    e.cache_max_bytes = &m.instance_gauge("couponflow_store_cache_max_bytes",
                                          "statestore.cache.max.bytes: the budget the store caches share.");
  }
  e.assigned_partitions = &m.gauge("couponflow_assigned_partitions", "Input partitions (tasks) owned.");
  e.input_partitions = &m.gauge("couponflow_input_partitions",
                                "Partitions of the input topic: the tasks the application has, owned by someone.");
  e.standby_partitions = &m.gauge("couponflow_standby_partitions", "Partitions kept warm as standby replicas.");
  e.tasks_restoring = &m.gauge("couponflow_tasks", "Owned tasks by state.", {{"state", "restoring"}});
  e.tasks_running = &m.gauge("couponflow_tasks", "Owned tasks by state.", {{"state", "running"}});
  e.producer_queue = &m.gauge("couponflow_producer_queue_records", "Records sent and not yet acknowledged.");
  e.delivery_errors = &m.counter("couponflow_producer_delivery_errors_total", "Records whose delivery failed.");
  e.rebalances = &m.counter("couponflow_rebalances_total", "Assignments and revocations taken part in.");
  e.aborted_transactions =
      &m.counter("couponflow_transactions_aborted_total", "exactly_once_v2: transactions aborted and redone.");
  e.commit_latency = &m.histogram("couponflow_commit_latency_seconds",
                                  "One commit: flush or transaction commit, offset commit, checkpoint.", {},
                                  ThreadMetrics::slow_latency_buckets());
  for (const auto& store : topology_.stores()) {
    const MetricLabels labels{{"store", store.name}};
    e.restored.push_back(
        &m.counter("couponflow_restored_records_total", "Changelog records restored into active tasks.", labels));
    e.standby_applied.push_back(&m.counter("couponflow_standby_applied_records_total",
                                           "Changelog records applied to standby replicas.", labels));
    e.restore_duration.push_back(&m.histogram("couponflow_restore_duration_seconds",
                                              "One store's restore, from assignment to caught up.", labels,
                                              ThreadMetrics::slow_latency_buckets()));
  }
}

void StreamThread::open_slot_metrics(TaskSlot& slot) {
  ThreadMetrics& m = *metrics_;
  const Task& task = *slot.task;
  const std::string partition = std::to_string(task.id().partition.value);
  for (const auto& tp : task.source_partitions()) {
    const MetricLabels labels{{"topic", tp.topic}, {"partition", partition}};
    slot.consumed.push_back(&m.counter("couponflow_records_consumed_total", "Input records handed to a task.", labels));
    slot.lag.push_back(nullptr);  // created once the partition's high watermark is known
  }
  for (const auto& store : topology_.stores()) {
    const MetricLabels labels{{"store", store.name}, {"partition", partition}};
    slot.restore_remaining.push_back(&m.gauge("couponflow_restore_remaining_records",
                                              "Changelog records left to restore (0 once restored).", labels));
    slot.store_bytes.push_back(&m.gauge("couponflow_state_store_size_bytes",
                                        "Live data of a task store: files plus memtables.", labels));
    slot.store_entries.push_back(
        &m.gauge("couponflow_state_store_entries", "Estimated keys of a task store (every keyspace).", labels));
  }
}

void StreamThread::close_slot_metrics(TaskSlot& slot) {
  for (auto* g : slot.lag) {
    if (g != nullptr) metrics_->remove(*g);
  }
  for (auto* g : slot.restore_remaining) metrics_->remove(*g);
  for (auto* g : slot.store_bytes) metrics_->remove(*g);
  for (auto* g : slot.store_entries) metrics_->remove(*g);
  slot.lag.clear();
  slot.restore_remaining.clear();
  slot.store_bytes.clear();
  slot.store_entries.clear();
}

void StreamThread::publish_metrics() {
  const EpochMillis now = clock_.now_ms();
  if (now - last_metrics_ms_ < kPublishIntervalMs) return;
  last_metrics_ms_ = now;
  EngineMetrics& e = *engine_metrics_;
  const bool sizes = now - last_store_size_ms_ >= kStoreSizeIntervalMs;
  if (sizes) last_store_size_ms_ = now;

  size_t restoring = 0, running = 0;
  for (auto& [p, slot] : tasks_) {
    Task& task = *slot->task;
    restoring += task.state() == TaskState::kRestoring ? 1 : 0;
    running += task.state() == TaskState::kRunning ? 1 : 0;
    const auto& sources = task.source_partitions();
    for (size_t s = 0; s < sources.size() && s < slot->lag.size(); ++s) {
      Consumer& consumer = s == primary_source_ ? *main_ : *side_;
      const Offset next = task.state() == TaskState::kRunning ? task.next_offsets()[s] : slot->start_offsets[s];
      if (auto high = consumer.cached_high_watermark(sources[s])) {
        if (slot->lag[s] == nullptr) {
          slot->lag[s] = &metrics_->gauge(
              "couponflow_consumer_lag_records",
              "High watermark of the input partition minus the next offset its task processes.",
              {{"topic", sources[s].topic}, {"partition", std::to_string(sources[s].partition.value)}});
        }
        slot->lag[s]->set(static_cast<double>(std::max<int64_t>(0, high->value - next.value)));
      }
    }
    for (size_t i = 0; i < slot->restoring.size(); ++i) {
      if (const auto& span = slot->restoring[i]) {
        slot->restore_remaining[i]->set(static_cast<double>(std::max<int64_t>(0, span->end.value - span->next.value)));
      }
    }
    if (sizes && (task.state() == TaskState::kRestoring || task.state() == TaskState::kRunning)) {
      for (size_t i = 0; i < topology_.stores().size(); ++i) {
        const auto size = task.store(topology_.stores()[i].name).size();
        slot->store_bytes[i]->set(static_cast<double>(size.bytes));
        slot->store_entries[i]->set(static_cast<double>(size.entries));
      }
    }
  }
  if (e.ready != nullptr) {
    e.ready->set(context_->all_ready() ? 1 : 0);
    const auto& budget = *context_->cache_budget();
    e.cache_bytes->set(static_cast<double>(budget.used_bytes()));
    e.cache_max_bytes->set(static_cast<double>(budget.max_bytes()));
  }
  e.assigned_partitions->set(static_cast<double>(tasks_.size()));
  e.input_partitions->set(static_cast<double>(partition_count_));
  e.standby_partitions->set(static_cast<double>(standbys_.size()));
  e.tasks_restoring->set(static_cast<double>(restoring));
  e.tasks_running->set(static_cast<double>(running));
  e.producer_queue->set(static_cast<double>(producer_->in_flight()));
  // Counted where they happen, for the status too: brought up to date here.
  e.delivery_errors->add(producer_->delivery_errors() - e.delivery_errors->value());
  e.rebalances->add(rebalances_ - e.rebalances->value());
  e.aborted_transactions->add(aborts_ - e.aborted_transactions->value());
  metrics_->publish();
}

}  // namespace couponflow::processor
