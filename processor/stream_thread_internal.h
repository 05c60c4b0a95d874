#pragma once
// Shared by the files of StreamThread (split by concern: stream_thread.cc the loop and
// commits, _tasks.cc assignment and restore, _standby.cc standby replicas, _eos.cc
// exactly-once). Not for other includers.

#include <chrono>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "common/errors.h"
#include "common/log.h"
#include "processor/stream_thread.h"
#include "processor/task.h"

namespace couponflow::processor::detail {

inline constexpr int kBrokerTimeoutMs = 10'000;
inline constexpr size_t kPollBatch = 10'000;
inline constexpr size_t kProcessBudget = 2'000;  // records per task per round, for fairness

/// How long a stopping thread keeps retrying a broker call before it gives up.
inline constexpr int64_t kShutdownGraceMs = 30'000;

}  // namespace couponflow::processor::detail

namespace couponflow::processor {

template <typename Fn>
auto StreamThread::until_done(const char* what, Fn&& fn) {
  // A broker outage stalls the thread here, never kills it: RetriableError is what an
  // unreachable or slow broker raises, and the call is safe to repeat (librdkafka says
  // so of commit_transaction and abort_transaction after a timeout).
  for (int attempt = 1;; ++attempt) {
    try {
      return fn();
    } catch (const RetriableError& e) {
      const EpochMillis now = clock_.now_ms();
      if (stop_ != nullptr && stop_->load(std::memory_order_relaxed)) {
        if (stop_seen_ms_ == 0) stop_seen_ms_ = now;
        if (now - stop_seen_ms_ > detail::kShutdownGraceMs) {
          throw FatalError(fmt::format("{} did not succeed before shutdown: {}", what, e.what()));
        }
      }
      if (attempt == 1 || attempt % 10 == 0) {
        log::warn("{} failed (attempt {}): {}; retrying until the broker answers", what, attempt, e.what());
      }
      // Alive and waiting for the broker, not wedged: /healthz stays green.
      last_step_ms_.store(now, std::memory_order_relaxed);
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(200 * attempt, 2000)));
    }
  }
}

struct StreamThread::StandbySlot {
  std::unique_ptr<Task> task;  // its changelog tails are the ChangelogReader's
};

struct StreamThread::TaskSlot {
  std::unique_ptr<Task> task;
  uint64_t created_epoch = 0;  // the main consumer's rebalance_count() at creation
  std::vector<Offset> start_offsets;  // per source: committed, then where processing resumes
  std::vector<Offset> fetched;        // per source: next offset the task expects
  EpochMillis restore_started_ms = 0;
  uint64_t restored_records = 0;
  uint64_t restored_bytes = 0;  // keys and values, as read from the changelogs
  struct RestoreSpan {
    Offset next, end;
  };
  std::vector<std::optional<RestoreSpan>> restoring;  // per store, while it restores
  std::set<size_t> paused_sources;

  // Metrics of the partition (stream_thread_metrics.cc); gauges removed at close.
  std::vector<MetricCounter*> consumed;  // per source
  std::vector<GaugeCell*> lag;           // per source
  std::vector<GaugeCell*> restore_remaining, store_bytes, store_entries;  // per store
};

/// The thread-wide engine metrics (docs/metrics.md), resolved once.
struct StreamThread::EngineMetrics {
  GaugeCell* ready = nullptr;  // these three: the instance's first thread only
  GaugeCell* cache_bytes = nullptr;
  GaugeCell* cache_max_bytes = nullptr;
  GaugeCell* assigned_partitions;
  GaugeCell* input_partitions;
  GaugeCell* standby_partitions;
  GaugeCell* tasks_restoring;
  GaugeCell* tasks_running;
  GaugeCell* producer_queue;
  MetricCounter* delivery_errors;
  MetricCounter* rebalances;
  MetricCounter* aborted_transactions;
  LocalHistogram* commit_latency;
  std::vector<MetricCounter*> restored;         // per store
  std::vector<MetricCounter*> standby_applied;  // per store
  std::vector<LocalHistogram*> restore_duration;  // per store
};

}  // namespace couponflow::processor
