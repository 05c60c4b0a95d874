#pragma once
// The runtime of one processor instance: a consumer-group member that runs one task per
// assigned partition.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "processor/changelog_reader.h"
#include "processor/clients.h"
#include "processor/instance_context.h"
#include "processor/interactive_query.h"
#include "processor/metrics/thread_metrics.h"
#include "processor/streams_config.h"
#include "processor/task.h"
#include "state/materialized_store.h"
#include "topology/topology.h"

namespace prometheus {
class Registry;
}

namespace couponflow::processor {

struct TaskStatus {
  Partition partition;
  TaskState state;
  uint64_t processed = 0;
  uint64_t restored = 0;
};

/// A thread-safe snapshot of what the thread is doing.
struct ThreadStatus {
  bool running = false;  // started and not shutting down
  bool joined = false;   // has been a member of the consumer group
  std::vector<TaskStatus> tasks;
  std::vector<Partition> standbys;  // partitions kept warm as standby replicas
  int32_t partition_count = 0;      // of the input topic, once known
  uint64_t processed = 0;
  uint64_t commits = 0;
  uint64_t rebalances = 0;
  uint64_t aborted_transactions = 0;

  /// Ready to serve (/readyz): a group member whose every task has restored and runs.
  bool ready() const;
  /// Why not ready, for people ("" when ready).
  std::string not_ready_reason() const;
};

/// Role: one stream thread of an instance (StreamsInstance runs num.stream.threads of
/// them, sharing an InstanceContext). Owns its Kafka clients (group consumer for the
/// stream source, a manual consumer for restores, standbys and co-partitioned tables,
/// one idempotent or transactional producer), its tasks and its standby tasks; their
/// directories are held through the InstanceContext.
///
/// Loop: wait for records (or the next commit) -> route records to tasks and to the
/// ChangelogReader (restores, standbys) -> start restored tasks -> process -> every
/// commit.interval.ms commit_all: flush the producer (all outputs and changelog records
/// acknowledged), record each task's input position with its state, checkpoint the
/// stores, and send the offsets to the group without waiting. Under exactly_once_v2 the
/// recorded positions, outputs and offsets are one transaction; an abortable error
/// aborts it and reopens every task at its last durable position.
///
/// Rebalances (cooperative): an assigned partition becomes a task that restores its
/// stores before processing (its input paused meanwhile), then resumes at the later of
/// the committed and the recorded input position; a revoked one is committed and
/// closed, keeping its local state (and, with standby replicas, stays warm as a
/// standby); a lost one is closed without a commit.
///
/// Split by concern: stream_thread.cc (loop, routing, commits), stream_thread_tasks.cc
/// (assignment, restore), stream_thread_standby.cc, stream_thread_eos.cc; restores and
/// standby tails are the ChangelogReader's; the clients come from a ClientSupplier.
/// Thread: run() on one thread; status() from any.
/// Errors: run() throws FatalError when going on would be unsafe (truncated log,
/// contradictory local state, failed delivery). Broker calls the thread cannot do
/// without are retried until the broker answers (until_done): an outage stalls it.
class StreamThread final : private RebalanceListener, private RestoreListener {
 public:
  /// With a registry, the thread publishes its metrics there (docs/metrics.md). Its
  /// Kafka clients come from `clients` (default: librdkafka's). Without a context the
  /// thread is an instance of its own; with one it is thread `thread_index` (from 0)
  /// of the instance the context describes.
  StreamThread(const topology::Topology& topology, StreamsConfig config,
               std::shared_ptr<prometheus::Registry> registry = nullptr,
               std::shared_ptr<ClientSupplier> clients = nullptr,
               std::shared_ptr<InstanceContext> context = nullptr, int thread_index = 0);
  ~StreamThread() override;

  /// Runs until `stop` is set, then shuts down gracefully: commits what was
  /// processed, checkpoints, leaves the group.
  void run(const std::atomic<bool>& stop);
  ThreadStatus status() const;
  /// What status() says of one thing, without copying it (asked once per query).
  int32_t partition_count() const;
  bool has_task(Partition partition) const;
  /// Runs `query` against the partition's task on this thread, between two rounds
  /// (interactive queries). Blocks up to `timeout_ms`. Thread: any but this one.
  QueryOutcome query(Partition partition, const StoreQuery& query, int timeout_ms) {
    return queries_.submit(partition, query, timeout_ms);
  }
  /// Wall clock of the last completed loop round (a liveness heartbeat); 0 before run.
  EpochMillis last_step_ms() const { return last_step_ms_.load(std::memory_order_relaxed); }

 private:
  struct TaskSlot;
  struct StandbySlot;

  void start();
  void step();
  void shutdown();

  void on_assigned(const std::vector<TopicPartition>& partitions) override;
  void on_revoked(const std::vector<TopicPartition>& partitions) override;
  void on_lost(const std::vector<TopicPartition>& partitions) override;

  // RestoreListener (logs and metrics of restores and standbys).
  void on_restore_start(TaskId task, size_t store, const TopicPartition& changelog, Offset from, Offset to) override;
  void on_record_applied(TaskId task, size_t store, const Record& record, bool standby) override;
  void on_restore_end(TaskId task, size_t store) override;

  TaskEnvironment task_environment(Partition partition) const;
  /// "StreamThread-N" when the instance runs several threads, else "" (names clients,
  /// group.instance.id, transactional.id and gauges apart).
  std::string thread_suffix() const;
  /// Takes the partition's task directory for an active task (TaskDirectories),
  /// giving way to siblings meanwhile. Errors: FatalError if a stop or a long wait
  /// comes first.
  void hold_task_directory(Partition partition);
  void open_tasks(const std::vector<Partition>& partitions, bool already_assigned);
  /// Standby replicas (num.standby.replicas > 0): a warm copy of the stores of every
  /// partition this instance does not own, kept by tailing their changelogs.
  void update_standbys();
  void open_standby(Partition partition);
  /// With hand_over, its open stores wait in handed_over_ for the task taking over.
  void close_standby(Partition partition, bool hand_over);
  /// Runs a broker call until it stops throwing RetriableError: a broker outage stalls
  /// the thread, never kills it. Once a stop is requested it gives up after a grace
  /// period with FatalError. (stream_thread_internal.h)
  template <typename Fn>
  auto until_done(const char* what, Fn&& fn);
  bool exactly_once() const;
  std::string transactional_id() const;
  void mirror_transactional_offsets(const std::vector<std::pair<TopicPartition, Offset>>& offsets);
  /// Exactly-once: aborts the open transaction and reopens every task at the last
  /// committed offsets, so that what the transaction held is redone.
  void abort_and_redo(const std::string& reason);
  /// A restored task starts processing, each source from `start` (see ChangelogReader).
  void start_task(TaskSlot& slot, const std::vector<Offset>& start);
  void start_restored_tasks();
  void close_task(Partition partition, bool clean);
  std::vector<std::string> co_partitioned_topics() const;
  void check_partition_counts();
  void route_main(std::vector<Record>& records, uint64_t epoch);
  void add_input(TaskSlot& slot, size_t source, Record record);
  void route_side(std::vector<Record>& records);
  size_t process_tasks();
  void apply_backpressure();
  /// At least once: flush, record each task's input position with its state, checkpoint,
  /// commit the offsets to the group without waiting. Exactly once: record the input
  /// positions, commit the transaction (with the offsets), checkpoint. `handing_over`
  /// (revocation): the recorded positions are made durable before returning. Returns
  /// false if nothing could be made durable now (retried at the next interval).
  bool commit_all(bool handing_over = false);
  /// Sends the offsets to the group without waiting (all of them, or those the group
  /// is not known to have); skipped while one is in flight unless `always`.
  void commit_offsets(const std::vector<std::pair<TopicPartition, Offset>>& offsets, bool only_behind,
                      bool always = false);
  /// Outcomes of the asynchronous offset commits.
  void handle_commit_results();
  /// Records each dirty task's input position with its state (Task::record_source_offsets);
  /// true if any was recorded.
  bool record_source_offsets();
  void publish_status();
  /// Answers the interactive queries waiting in queries_ (only a RUNNING task answers).
  void serve_queries();
  // Metrics (stream_thread_metrics.cc).
  void init_metrics(std::shared_ptr<prometheus::Registry> registry);
  void open_slot_metrics(TaskSlot& slot);
  void close_slot_metrics(TaskSlot& slot);
  void publish_metrics();

  const topology::Topology& topology_;
  StreamsConfig config_;
  SystemClock clock_;
  size_t primary_source_ = 0;
  int32_t partition_count_ = 0;

  /// The state directory, store factory, cache budget (statestore.cache.max.bytes)
  /// and task directory holds, shared with the instance's other threads.
  std::shared_ptr<InstanceContext> context_;
  const int thread_index_;
  uint64_t directories_generation_ = 0;  // of TaskDirectories, at the last update_standbys
  std::shared_ptr<ClientSupplier> clients_;
  std::unique_ptr<Producer> producer_;
  std::unique_ptr<Consumer> main_;
  std::unique_ptr<Consumer> side_;

  std::map<int32_t, std::unique_ptr<TaskSlot>> tasks_;
  std::map<int32_t, std::unique_ptr<StandbySlot>> standbys_;
  std::map<int32_t, std::vector<std::unique_ptr<state::MaterializedStore>>> handed_over_;
  std::unique_ptr<ChangelogReader> changelog_reader_;  // restores and standbys, on side_
  std::map<TopicPartition, std::pair<int32_t, size_t>> table_routes_;  // live table source -> task, source index
  std::vector<Record> batch_;
  EpochMillis last_commit_ms_ = 0;
  EpochMillis last_partition_check_ms_ = 0;
  bool more_records_ = false;  // the last poll filled its batch
  size_t last_processed_ = 0;   // records processed in the last round
  bool stopping_ = false;
  const std::atomic<bool>* stop_ = nullptr;  // run()'s stop request
  EpochMillis stop_seen_ms_ = 0;             // when a broker call first saw it
  std::atomic<EpochMillis> last_step_ms_{0};
  bool abandoned_ = false;  // run() failed: close without committing

  uint64_t processed_total_ = 0;
  uint64_t commits_ = 0;
  uint64_t rebalances_ = 0;
  uint64_t aborts_ = 0;
  uint64_t refused_commits_ = 0;
  int outstanding_commits_ = 0;  // commit_async calls not answered yet
  bool positions_in_transaction_ = false;  // exactly-once: the open transaction holds recorded positions
  std::unique_ptr<ThreadMetrics> metrics_;
  struct EngineMetrics;
  std::unique_ptr<EngineMetrics> engine_metrics_;
  EpochMillis last_metrics_ms_ = 0;
  EpochMillis last_store_size_ms_ = 0;
  // Exactly-once on a broker that may not store transactional offsets (see
  // mirror_transactional_offsets): whether it does, once known; and the last offsets
  // known to be committed per partition, to tell which ones a transaction advanced.
  std::optional<bool> broker_stores_txn_offsets_;
  std::map<TopicPartition, Offset> known_committed_;
  QueryMailbox queries_;
  mutable std::mutex status_mutex_;
  ThreadStatus status_;
};

}  // namespace couponflow::processor
