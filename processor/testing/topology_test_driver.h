#pragma once
// Runs a topology in-process, synchronously, with no broker: the counterpart of Kafka
// Streams' TopologyTestDriver. Topics are the logs of a MockCluster; each partition's
// task is the same Task class the runtime uses, with real (RocksDB) stores in a
// directory of the caller's choosing, restored by the same ChangelogReader with the
// same checks. Beyond piping records and reading outputs, the driver can commit, crash a
// task (drop it without a commit) and wipe its state, so restore and replay paths are
// testable without Kafka.

#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "processor/record_collector.h"
#include "state/cache_budget.h"
#include "processor/changelog_reader.h"
#include "processor/task.h"
#include "processor/testing/mock_cluster.h"
#include "state/persistent_store.h"
#include "topology/topology.h"

namespace couponflow::processor::testing {

class TopologyTestDriver {
 public:
  struct Options {
    std::filesystem::path state_dir;  // required; the driver does not delete it
    int32_t partitions = 1;
    std::string application_id = "test-app";
    EpochMillis start_time_ms = 1'700'000'000'000;
    /// statestore.cache.max.bytes: one budget for the stores of every task.
    size_t store_cache_bytes = state::kDefaultStoreCacheBytes;
    /// Output topics whose records are counted but not kept (for benchmarks).
    std::vector<std::string> discard_topics;
    /// Input topics whose records are deleted once committed (for benchmarks): a
    /// runtime's consumer holds a record only until it is processed, and a driver that
    /// kept a million piped records would measure its own memory more than the
    /// topology. What a task restores from is never deleted unless named here.
    std::vector<std::string> purge_committed_topics;
    /// Per-record latency histograms and processed counts (off: to measure their cost).
    bool per_record_metrics = true;
  };

  TopologyTestDriver(const topology::Topology& topology, Options options);
  ~TopologyTestDriver();

  /// Appends a record to `topic` (in the key's murmur2 partition unless `partition` is
  /// given) and processes everything that became processable. Returns the record's offset.
  Offset pipe(const std::string& topic, std::optional<std::string_view> key,
              std::optional<std::string_view> value, EpochMillis timestamp,
              std::optional<Partition> partition = std::nullopt);
  /// Appends without processing: several records can wait together, then `process_all`
  /// merges them as a task that finds them already in its logs would.
  Offset append(const std::string& topic, std::optional<std::string_view> key,
                std::optional<std::string_view> value, EpochMillis timestamp,
                std::optional<Partition> partition = std::nullopt);
  void process_all();

  /// Records written to `topic` since the previous read_output of it, in write order.
  std::vector<LoggedRecord> read_output(const std::string& topic);
  /// Every record written to a partition of `topic` and not deleted since
  /// (Options::purge_committed_topics).
  std::vector<LoggedRecord> log(const std::string& topic, Partition partition) const;
  uint64_t record_count(const std::string& topic) const;

  /// What the runtime's commit does: every task's output is acknowledged, its input
  /// position recorded with its state (Task::record_source_offsets), its input offsets
  /// committed, its stores checkpointed.
  void commit();
  /// The budget every task's store caches share (statestore.cache.max.bytes).
  const state::CacheBudget& cache_budget() const { return *cache_budget_; }
  /// Drops the task without committing and reopens it: the stores restore from their
  /// changelog position and uncommitted input is processed again. Models a SIGKILL
  /// and a restart.
  void crash(Partition partition);
  /// crash() plus deleting the task's local state: a full restore from the changelog.
  void wipe(Partition partition);

  Task& task(Partition partition);
  state::MaterializedStore& store(Partition partition, std::string_view name);
  ManualClock& clock() { return clock_; }
  /// What the tasks and processors counted (never published).
  const ThreadMetrics& metrics() const { return metrics_; }

 private:
  class Collector;
  struct TaskSlot;

  void ensure_topic(const std::string& topic);
  Partition partition_for(std::optional<std::string_view> key, std::optional<Partition> p) const;
  void open_task(Partition partition);
  void feed(TaskSlot& slot);

  const topology::Topology& topology_;
  Options options_;
  ManualClock clock_;
  ThreadMetrics metrics_;
  std::unique_ptr<state::PersistentStoreFactory> store_factory_;
  std::shared_ptr<state::CacheBudget> cache_budget_;
  std::unique_ptr<Collector> collector_;
  MockCluster cluster_;
  std::unique_ptr<Consumer> restore_consumer_;
  std::unique_ptr<ChangelogReader> changelog_reader_;
  std::map<std::string, std::vector<std::pair<Partition, Offset>>> written_;  // write order
  std::map<std::string, size_t> read_cursor_;
  std::map<std::string, uint64_t> counts_;
  std::map<TopicPartition, Offset> committed_;
  std::vector<std::unique_ptr<TaskSlot>> tasks_;
};

}  // namespace couponflow::processor::testing
