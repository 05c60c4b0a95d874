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

/// Runs `fn` until it stops throwing RetriableError, for bounded broker calls made
/// while tasks are being set up (there is nothing useful to do before they succeed).
template <typename Fn>
auto with_retries(const char* what, Fn&& fn) {
  for (int attempt = 1;; ++attempt) {
    try {
      return fn();
    } catch (const RetriableError& e) {
      if (attempt >= 5) throw FatalError(fmt::format("{} failed {} times: {}", what, attempt, e.what()));
      log::warn("{} failed (attempt {}): {}; retrying", what, attempt, e.what());
      std::this_thread::sleep_for(std::chrono::milliseconds(200 * attempt));
    }
  }
}

}  // namespace couponflow::processor::detail

namespace couponflow::processor {

struct StreamThread::StandbySlot {
  std::unique_ptr<Task> task;
  struct Tail {
    size_t store;
    TopicPartition changelog;
    Offset next;  // the next changelog offset to apply
    bool dirty = false;
  };
  std::vector<Tail> tails;
};

struct StreamThread::TaskSlot {
  std::unique_ptr<Task> task;
  uint64_t created_epoch = 0;  // the main consumer's rebalance_count() at creation
  std::vector<Offset> start_offsets;  // per source
  std::vector<Offset> fetched;        // per source: next offset the task expects
  struct Restore {
    size_t store;
    TopicPartition changelog;
    Offset end;
    Offset next;  // the next changelog offset to apply
  };
  std::vector<Restore> restoring;
  EpochMillis restore_started_ms = 0;
  uint64_t restored_records = 0;
  uint64_t restored_bytes = 0;  // keys and values, as read from the changelogs
  std::set<size_t> paused_sources;

  // Metrics of the partition (stream_thread_metrics.cc); gauges removed at close.
  std::vector<MetricCounter*> consumed;  // per source
  std::vector<GaugeCell*> lag;           // per source
  std::vector<GaugeCell*> restore_remaining, store_bytes, store_entries;  // per store
};

/// The thread-wide engine metrics (docs/metrics.md), resolved once.
struct StreamThread::EngineMetrics {
  GaugeCell* ready;
  GaugeCell* assigned_partitions;
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
