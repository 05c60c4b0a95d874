#pragma once
// Restores the stores of active tasks and keeps the stores of standby tasks warm, by
// reading their changelogs (Kafka Streams' StoreChangelogReader). The stream thread and
// the TopologyTestDriver share it, so restore planning and its safety checks are the
// same in production and in tests.
//
// An active task restores in two phases:
//   1. its changelogged stores, from their position to their changelog's end;
//   2. then, knowing the input position recorded with that state (Task::
//      recorded_source_offsets) and the group's committed offsets, whichever is later,
//      its table stores from their source topics up to where processing resumes.
// A restore ends when its last record is applied, or when the consumer's position
// passes its end (offsets without a record: transaction markers, compaction).

#include <functional>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "common/types.h"
#include "processor/clients.h"
#include "processor/task.h"

namespace couponflow::processor {

/// What a restore reports, for logs and metrics (Kafka Streams' StateRestoreListener).
/// Called on the reader's thread.
class RestoreListener {
 public:
  virtual ~RestoreListener() = default;
  virtual void on_restore_start(TaskId task, size_t store, const TopicPartition& changelog, Offset from, Offset to) = 0;
  /// One changelog record applied to an active task's store (restore) or a standby's.
  virtual void on_record_applied(TaskId task, size_t store, const Record& record, bool standby) = 0;
  virtual void on_restore_end(TaskId task, size_t store) = 0;
};

/// Role: owns, on one consumer, the assignment of every changelog (and table source
/// being restored) of the tasks registered with it, and applies their records.
/// Thread: its owner's (the consumer's).
/// Errors: FatalError when a changelog cannot be trusted (it lost records the store
/// still needs, or ends before the local state: the topic was recreated); broker calls
/// go through `retry` (the stream thread retries until the broker answers).
class ChangelogReader {
 public:
  using Retry = std::function<void(const char* what, const std::function<void()>& call)>;

  ChangelogReader(Consumer& consumer, Retry retry, RestoreListener* listener = nullptr);

  /// An active task to restore (add_active).
  struct ActiveRestore {
    Task* task = nullptr;
    std::vector<ChangelogSpec> specs;  // from Task::begin_restore: its stores are open
    std::vector<Offset> committed;     // per source: the group's committed offset, or where reading starts
  };
  /// Each task is restored, then resumes from `committed` or the offsets recorded with
  /// its state if later. The ends of all their changelogs are asked for at once.
  void add_active(std::vector<ActiveRestore> restores);
  /// A standby task (`specs` from Task::begin_standby) tails its changelogs. False
  /// (logged) if it cannot be kept now: its changelog does not cover its store.
  bool add_standby(Task& task, const std::vector<ChangelogSpec>& specs);
  /// Stops reading for the task of `partition` (a standby's position is made durable).
  void remove(Partition partition);

  /// Applies a record the consumer returned; false if it is of no registered task.
  bool apply(const Record& record);
  /// Active tasks fully restored since the last call, each with the offset every
  /// source resumes from. Also ends restores whose consumer position passed their end,
  /// and moves on those whose stores finished writing in the background. Never waits.
  std::vector<std::pair<Partition, std::vector<Offset>>> take_restored();
  /// Whether a task has read all it restores and waits only for its stores to finish
  /// writing it in the background (Task::stores_settled): take_restored will soon
  /// have news, though no record arrives to say so.
  bool settling() const;
  /// Makes every standby store durable at the changelog position it reached.
  void flush_standbys();

 private:
  struct Read {
    size_t store;
    TopicPartition topic;
    Offset end;   // active: restore up to here (exclusive)
    Offset next;  // the next offset to apply
    bool dirty = false;  // standby: applied since the last flush
  };
  struct Entry {
    Task* task = nullptr;
    bool standby = false;
    bool tables_planned = false;
    std::vector<Offset> start;            // per source: where processing resumes
    std::vector<ChangelogSpec> tables;    // restored in phase 2
    std::vector<Read> reads;              // under way
    bool settling = false;                // every read done, stores still writing in the background
  };

  /// Plans one restore up to `end`; false if there is nothing to read. `log_start`:
  /// where the log starts, if known (asked for only when there is something to read).
  bool plan(Entry& entry, const ChangelogSpec& spec, Offset end, std::optional<Offset> log_start);
  void plan_tables(Entry& entry);
  /// After the changelogs, the tables; after the tables, restored.
  void next_phase(Entry& entry);
  void finish(Entry& entry, size_t read_index);
  Watermarks watermarks(const TopicPartition& tp);
  void set_route(const TopicPartition& tp, int32_t task_partition);
  void erase_route(const TopicPartition& tp);
  /// The entry reading the record's topic partition, if any.
  Entry* route(const Record& record);

  Consumer& consumer_;
  Retry retry_;
  RestoreListener* listener_;
  std::map<int32_t, Entry> entries_;
  std::map<TopicPartition, int32_t> routes_;  // topic partition read -> task partition
  std::optional<std::pair<TopicPartition, int32_t>> last_route_;  // the last route taken
  std::vector<std::pair<Partition, std::vector<Offset>>> restored_;
};

}  // namespace couponflow::processor
