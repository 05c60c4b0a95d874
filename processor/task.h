#pragma once
// A task: one partition of every source of the topology, its processors and its stores.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/record.h"
#include "common/types.h"
#include "processor/metrics/task_metrics.h"
#include "processor/metrics/thread_metrics.h"
#include "processor/output_buffer.h"
#include "processor/partition_group.h"
#include "processor/record_collector.h"
#include "state/materialized_store.h"
#include "state/persistent_store.h"
#include "topology/topology.h"

namespace couponflow::processor {

class InstanceEvents;

/// Task lifecycle. Transitions go through Task::transition_to, which rejects any other.
///
///   CREATED ──> RESTORING ──> RUNNING ──> CLOSED
///      │  │         │                       ^
///      │  └──> STANDBY ─────────────────────┤
///      └────────────┴───────────────────────┘
///
/// A STANDBY task only keeps its stores warm by applying their changelogs (a standby
/// replica); it never processes. It is closed, and its stores handed over through the
/// state directory, when its partition is assigned to this instance.
enum class TaskState { kCreated, kRestoring, kRunning, kStandby, kClosed };
std::string_view to_string(TaskState state);
/// The state to_string names `name`; nullopt for any other text.
std::optional<TaskState> task_state_from_string(std::string_view name);

/// What a task needs from the runtime that creates it.
struct TaskEnvironment {
  std::string application_id;
  int32_t partition_count = 0;
  std::filesystem::path task_dir;  // the task's stores live in task_dir/<store>
  state::PersistentStoreFactory* store_factory = nullptr;
  RecordCollector* collector = nullptr;
  const Clock* clock = nullptr;
  /// Shared by the stores of every task of the instance (statestore.cache.max.bytes).
  std::shared_ptr<state::CacheBudget> cache_budget = std::make_shared<state::CacheBudget>(state::kDefaultStoreCacheBytes);
  /// Kafka Streams' max.task.idle.ms. 0: records are processed only once every empty
  /// source is known to be caught up with its log (records already in a log are always
  /// waited for). Above 0: an empty source that is caught up also holds the others back
  /// this long, for new records. Below 0: best effort, nothing is waited for.
  int64_t max_idle_ms = 0;
  /// A record whose processing throws is tried this many times in all, waiting
  /// retry_backoff_ms, then twice that, ... in between; then it is dead-lettered.
  int processing_attempts = 3;
  int64_t retry_backoff_ms = 100;
  /// Where the task counts (required); keyed gauges of one name are capped at
  /// max_keyed_series for the thread.
  ThreadMetrics* metrics = nullptr;
  size_t max_keyed_series = 100;
  bool per_record_metrics = true;  // latency histograms, processed counts
  /// Where state changes are reported for programs; null: nowhere.
  InstanceEvents* events = nullptr;
};

/// One store's changelog as the runtime must restore it.
struct ChangelogSpec {
  size_t store_index;
  TopicPartition changelog;
  /// The next offset to restore from (the store's position); nullopt: from the start.
  std::optional<Offset> position;
  /// True for a table store, restored from its source topic up to the committed
  /// input offset rather than to the log end.
  bool is_source_topic;
};

struct TaskStats {
  uint64_t processed = 0;
  uint64_t restored = 0;
  uint64_t skipped_table_records = 0;
  uint64_t enforced_processing = 0;
  uint64_t dead_lettered = 0;
};

/// Role: runs one partition of a topology: merges its source partitions, drives the
/// processors, owns the stores.
/// Lifecycle: see TaskState. The runtime restores each changelog, then calls
/// start_running; after each offset commit it calls checkpoint; close ends it.
/// Thread: confined to the thread that drives it (the stream thread or the test driver).
/// Errors: a record whose processing throws is retried (each try atomic: its store
/// writes undone, its outputs dropped), then sent to the topology's dead letter topic,
/// and processing goes on. FatalError (store or engine failures) propagates.
class Task {
 public:
  Task(TaskId id, const topology::Topology& topology, TaskEnvironment env);
  ~Task();
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;

  TaskId id() const { return id_; }
  TaskState state() const { return state_; }
  const TaskStats& stats() const { return stats_; }

  // --- restoring --------------------------------------------------------------------
  /// Opens the stores (CREATED -> RESTORING) and says what to restore. Stores handed
  /// over already open, their caches warm, are taken as they are: a standby's of the
  /// same task (release_stores), or opened ahead (open_task_stores).
  std::vector<ChangelogSpec> begin_restore(
      std::vector<std::unique_ptr<state::MaterializedStore>> handed_over = {});
  /// Opens the stores as a standby replica (CREATED -> STANDBY): the changelogs are
  /// then applied through restore() and made durable through finish_restore().
  std::vector<ChangelogSpec> begin_standby();
  /// Deletes a store's local content, to be restored from scratch (RESTORING).
  void reset_store(size_t store_index);
  /// The store's restore is large: it is written in bulk, bypassing its cache, which is
  /// warmed again when finish_restore makes it durable (RESTORING; see
  /// MaterializedStore::begin_bulk_restore).
  void restore_in_bulk(size_t store_index);
  /// Applies one changelog record to a store (RESTORING).
  void restore(size_t store_index, const Record& record);
  /// Gives up the stores (STANDBY, before close), for the active task taking over.
  std::vector<std::unique_ptr<state::MaterializedStore>> release_stores();
  /// Makes a store's restored content durable with position `end` (RESTORING, STANDBY).
  /// A store restored in bulk does it in the background: see stores_settled.
  void finish_restore(size_t store_index, Offset end);
  /// Whether no store is still finishing its restore in the background; rethrows what
  /// failed there. Never waits.
  bool stores_settled();
  /// Initializes the processors; input resumes at `next_offsets[source]`
  /// (RESTORING -> RUNNING).
  void start_running(const std::vector<Offset>& next_offsets);

  // --- processing -------------------------------------------------------------------
  /// The source partitions this task reads, by topology source index.
  const std::vector<TopicPartition>& source_partitions() const { return source_partitions_; }
  void add_record(size_t source_index, Record record);
  size_t buffered(size_t source_index) const { return group_.buffered(source_index); }
  /// The next offset to read from each source (what a commit would store).
  const std::vector<Offset>& next_offsets() const { return next_offsets_; }
  /// Processes up to `max_records` ready records; returns how many were processed.
  size_t process(size_t max_records, const std::function<SourceProgress(size_t)>& progress);
  /// Records were processed since the last checkpoint.
  bool dirty() const { return dirty_; }

  // --- input position kept with the state --------------------------------------------
  /// Records next_offsets() in the changelog of the task's first changelogged store
  /// (sent now, made durable by the next flush): whoever restores that changelog, on
  /// any instance, knows the inputs before these offsets need no processing again, even
  /// when the group refused to commit them (it does while it rebalances). Call only
  /// once every output of those inputs is acknowledged (at least once) or in the same
  /// transaction (exactly once). Returns false if no store is changelogged.
  bool record_source_offsets();
  /// The input position last recorded with the state, per source, if any: after a
  /// restore, from the changelog; after a reopen, from the store.
  std::optional<std::vector<Offset>> recorded_source_offsets() const;

  // --- committing -------------------------------------------------------------------
  /// After the runtime flushed the collector and committed next_offsets(): makes the
  /// stores durable with their new positions.
  void checkpoint();

  /// Closes processors and stores (any state -> CLOSED). Unflushed store writes are
  /// dropped: after an unclean close the changelog restores them.
  void close();

  /// The name of the store at `store_index` (the topology's order).
  const std::string& store_name(size_t store_index) const { return topology_.stores().at(store_index).name; }

  /// Direct access to a store, for the test driver and tools.
  state::MaterializedStore& store(std::string_view name);

 private:
  class NodeContext;
  class ChangelogAppender;

  void transition_to(TaskState next);
  std::vector<ChangelogSpec> open_stores(std::vector<std::unique_ptr<state::MaterializedStore>> handed_over = {});
  void deliver(topology::NodeRef node, const Record& record);
  void process_source(size_t source_index, const Record& record);
  void apply_source(size_t source_index, const Record& record);
  void dead_letter(const Record& record, const std::string& error);
  /// Applies a record of a table source to its store (live and on restore alike);
  /// false if the materializer skipped it.
  bool apply_table_record(const topology::SourceNode& source, const Record& record);
  /// Counts and logs a record that cannot be applied.
  void skip_record(const Record& record, std::string_view label, std::string_view reason);

  TaskId id_;
  const topology::Topology& topology_;
  TaskEnvironment env_;
  TaskState state_ = TaskState::kCreated;
  TaskStats stats_;

  std::vector<TopicPartition> source_partitions_;
  std::vector<Offset> next_offsets_;
  PartitionGroup group_;
  std::optional<EpochMillis> batch_now_ms_;  // the wall clock of the process() call under way
  std::vector<std::optional<SourceProgress>> progress_asked_;  // per source, in this process() call
  std::vector<uint64_t> processed_per_source_;                 // in this process() call
  std::optional<EpochMillis> waiting_since_;  // records wait for a lagging source since
  bool wait_warned_ = false;
  std::optional<EpochMillis> idle_since_;  // max_idle_ms > 0: a caught-up source empty since

  std::vector<std::unique_ptr<state::MaterializedStore>> stores_;
  std::vector<std::unique_ptr<ChangelogAppender>> appenders_;  // per store, null for tables
  std::vector<std::unique_ptr<topology::Processor>> processors_;
  std::vector<std::unique_ptr<NodeContext>> contexts_;
  std::unique_ptr<TaskMetrics> metrics_;  // while RUNNING
  const Record* current_ = nullptr;
  OutputBuffer outputs_;  // what the current record sends, held until it succeeds
  bool dirty_ = false;
  uint64_t skipped_records_ = 0;
};

}  // namespace couponflow::processor
