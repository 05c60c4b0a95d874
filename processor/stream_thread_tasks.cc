#include "processor/stream_thread_internal.h"

#include <algorithm>

#include "processor/instance_events.h"
#include "processor/partition_guard.h"
#include "processor/store_opener.h"
#include "state/rocksdb/rocksdb_store.h"
#include "state/state_directory.h"

namespace couponflow::processor {

using detail::kBrokerTimeoutMs;

TaskEnvironment StreamThread::task_environment(Partition partition) const {
  TaskEnvironment env;
  env.application_id = config_.application_id;
  env.partition_count = partition_count_;
  env.task_dir = context_->state_dir().task_dir(TaskId{partition});
  env.store_factory = &context_->store_factory();
  env.collector = producer_.get();
  env.clock = &clock_;
  env.cache_budget = context_->cache_budget();
  env.max_idle_ms = config_.max_task_idle_ms;
  env.processing_attempts = config_.processing_attempts;
  env.retry_backoff_ms = config_.retry_backoff_ms;
  env.metrics = metrics_.get();
  env.max_keyed_series = config_.metrics_max_keyed_series;
  env.per_record_metrics = config_.metrics_per_record;
  env.events = context_->events();
  return env;
}

std::string StreamThread::thread_suffix() const {
  return context_->thread_count() > 1 ? fmt::format("StreamThread-{}", thread_index_ + 1) : "";
}

void StreamThread::hold_task_directory(Partition partition) {
  // A sibling gives its standby up within a loop round; an active task it lost is
  // closed when its consumer reports the loss, seconds at most. Far beyond that,
  // something is wedged: stop rather than wait forever.
  constexpr EpochMillis kMaxWaitMs = 120'000;
  const EpochMillis started = clock_.now_ms();
  bool waited = false;
  const bool held = context_->task_directories().acquire_active(
      thread_index_, partition,
      [&] {
        if (!waited) log::info("task {}: waiting for another stream thread to let go of its directory", TaskId{partition});
        waited = true;
        // Give way to siblings waiting for our standbys. Only close: a standby opened
        // now could be of a partition of this very assignment not opened yet.
        TaskDirectories& directories = context_->task_directories();
        for (auto it = standbys_.begin(); it != standbys_.end();) {
          const int32_t p = (it++)->first;  // close_standby erases
          if (directories.standby_unwanted(thread_index_, Partition{p})) close_standby(Partition{p}, false);
        }
        last_step_ms_.store(clock_.now_ms(), std::memory_order_relaxed);
      },
      [&] {
        return (stop_ != nullptr && stop_->load(std::memory_order_relaxed)) ||
               clock_.now_ms() - started > kMaxWaitMs;
      });
  if (!held) {
    throw FatalError(fmt::format("task {}: another stream thread kept its directory for {} s", TaskId{partition},
                                 (clock_.now_ms() - started) / 1000));
  }
}

void StreamThread::on_assigned(const std::vector<TopicPartition>& partitions) {
  ++rebalances_;
  if (stopping_) {
    // The group can still hand out partitions while we leave it; they are revoked
    // again as the close completes, so no task is opened for them.
    log::info("assigned {} partition(s) while shutting down: not opening tasks", partitions.size());
    return;
  }
  std::vector<Partition> mine;
  for (const auto& tp : partitions) {
    if (tp.topic != topology_.primary_source().topic) {
      throw FatalError("assigned a partition of unexpected topic " + tp.topic);
    }
    if (tp.partition.value >= partition_count_) {
      // The group saw more partitions than we started with: repartitioned under us.
      check_partitioning(tp.topic, {}, {{tp.topic, tp.partition.value + 1}}, partition_count_);
    }
    mine.push_back(tp.partition);
  }
  for (auto p : mine) close_standby(p, true);  // its stores become the task's, open and warm
  open_tasks(mine, /*already_assigned=*/false);
  update_standbys();
  publish_status();
}

void StreamThread::open_tasks(const std::vector<Partition>& partitions, bool already_assigned) {
  std::vector<TopicPartition> inputs;
  std::vector<TaskSlot*> opened;
  for (Partition p : partitions) {
    hold_task_directory(p);
    auto slot = std::make_unique<TaskSlot>();
    slot->task = std::make_unique<Task>(TaskId{p}, topology_, task_environment(p));
    slot->created_epoch = main_->rebalance_count();
    for (const auto& tp : slot->task->source_partitions()) inputs.push_back(tp);
    open_slot_metrics(*slot);
    opened.push_back(slot.get());
    tasks_[p.value] = std::move(slot);
  }
  const auto committed =
      until_done("reading committed offsets", [&] { return main_->committed(inputs, kBrokerTimeoutMs); });
  for (const auto& tp : inputs) known_committed_.erase(tp);
  for (const auto& [tp, offset] : committed) known_committed_[tp] = offset;
  // Inputs never committed start at their log start, asked for all at once.
  std::vector<TopicPartition> uncommitted;
  for (const auto& tp : inputs) {
    if (!committed.contains(tp)) uncommitted.push_back(tp);
  }
  std::map<TopicPartition, Watermarks> input_watermarks;
  if (!uncommitted.empty()) {
    input_watermarks =
        until_done("reading watermarks", [&] { return side_->query_watermarks(uncommitted, kBrokerTimeoutMs); });
  }

  // The stores no standby handed over are opened side by side (store_opener.h).
  std::vector<Partition> to_open;
  std::vector<TaskEnvironment> environments;
  for (TaskSlot* slot : opened) {
    const Partition p = slot->task->id().partition;
    if (handed_over_.contains(p.value)) continue;
    to_open.push_back(p);
    environments.push_back(task_environment(p));
  }
  auto open_stores = open_task_stores(topology_, environments);
  std::map<int32_t, std::vector<std::unique_ptr<state::MaterializedStore>>> opened_stores;
  for (size_t i = 0; i < to_open.size(); ++i) opened_stores[to_open[i].value] = std::move(open_stores[i]);

  std::vector<std::pair<TopicPartition, std::optional<Offset>>> main_assignment;
  std::vector<TopicPartition> to_pause;
  std::vector<ChangelogReader::ActiveRestore> restores;
  for (TaskSlot* slot : opened) {
    Task& task = *slot->task;
    const auto& sources = task.source_partitions();
    for (size_t s = 0; s < sources.size(); ++s) {
      auto it = committed.find(sources[s]);
      if (it != committed.end()) {
        slot->start_offsets.push_back(it->second);
        continue;
      }
      // Never committed: start at the log start, which must be 0 unless the topic's
      // retention removed records before this application ever read them.
      const Watermarks& wm = input_watermarks.at(sources[s]);
      if (wm.low.value > 0) {
        log::warn("task {}: {} starts at offset {}: earlier records were deleted before this "
                  "application first read them",
                  task.id(), sources[s], wm.low);
      }
      slot->start_offsets.push_back(wm.low);
    }
    // Fetching starts at the committed offset; the restore may find the input position
    // recorded with the state further on (start_task then drops what lies before it).
    slot->fetched = slot->start_offsets;
    main_assignment.emplace_back(sources[primary_source_], slot->start_offsets[primary_source_]);
    to_pause.push_back(sources[primary_source_]);

    slot->restore_started_ms = clock_.now_ms();
    slot->restoring.assign(topology_.stores().size(), std::nullopt);
    std::vector<std::unique_ptr<state::MaterializedStore>> stores;
    if (auto h = handed_over_.find(task.id().partition.value); h != handed_over_.end()) {
      stores = std::move(h->second);
      handed_over_.erase(h);
    } else {
      stores = std::move(opened_stores.at(task.id().partition.value));
    }
    restores.push_back({&task, task.begin_restore(std::move(stores)), slot->start_offsets});
  }
  changelog_reader_->add_active(std::move(restores));
  if (already_assigned) {
    // Reopened in place (after an aborted transaction): rewind instead of assigning.
    std::vector<std::pair<TopicPartition, Offset>> positions;
    std::vector<TopicPartition> all;
    for (const auto& [tp, offset] : main_assignment) {
      positions.emplace_back(tp, *offset);
      all.push_back(tp);
    }
    main_->resume(all);  // a closed task may have left its partition paused
    until_done("rewinding input", [&] {
      main_->seek(positions);
      return 0;
    });
  } else {
    main_->assign(main_assignment);
  }
  // Input waits until the task has restored its stores (start_task resumes it).
  main_->pause(to_pause);
  start_restored_tasks();
}

void StreamThread::start_restored_tasks() {
  for (auto& [partition, start] : changelog_reader_->take_restored()) {
    auto it = tasks_.find(partition.value);
    if (it != tasks_.end() && it->second->task->state() == TaskState::kRestoring) start_task(*it->second, start);
  }
}

void StreamThread::start_task(TaskSlot& slot, const std::vector<Offset>& start) {
  Task& task = *slot.task;
  if (slot.restored_records > 0) {
    const EpochMillis millis = std::max<EpochMillis>(1, clock_.now_ms() - slot.restore_started_ms);
    const double seconds = millis / 1000.0;
    if (auto* events = context_->events()) {
      events->task_restored(task.id(), static_cast<int64_t>(slot.restored_records),
                            static_cast<int64_t>(slot.restored_bytes), millis);
    }
    log::info("task {}: restored {} records ({} bytes) in {:.3f} s ({:.0f} records/s, {:.1f} MB/s)", task.id(),
              slot.restored_records, slot.restored_bytes, seconds, slot.restored_records / seconds,
              static_cast<double>(slot.restored_bytes) / seconds / 1e6);
  }
  // Records below the start offsets were processed before (their outputs acknowledged):
  // add_input drops what the consumer still delivers from the committed offset up to them.
  slot.start_offsets = start;
  for (size_t s = 0; s < start.size(); ++s) slot.fetched[s] = std::max(slot.fetched[s], start[s]);
  task.start_running(slot.start_offsets);
  std::string from;
  for (size_t s = 0; s < task.source_partitions().size(); ++s) {
    from += fmt::format("{}{}@{}", s ? ", " : "", task.source_partitions()[s], slot.start_offsets[s]);
  }
  log::info("task {}: processing from {}", task.id(), from);
  const auto& sources = task.source_partitions();
  for (size_t s = 0; s < sources.size(); ++s) {
    if (s == primary_source_) continue;
    table_routes_[sources[s]] = {task.id().partition.value, s};
    side_->assign({{sources[s], slot.start_offsets[s]}});
  }
  main_->resume({sources[primary_source_]});
}

void StreamThread::on_restore_start(TaskId task, size_t store, const TopicPartition&, Offset from, Offset to) {
  auto it = tasks_.find(task.partition.value);
  if (it == tasks_.end()) return;
  it->second->restoring.at(store) = TaskSlot::RestoreSpan{from, to};
  if (auto* events = context_->events()) events->restore_started(task, it->second->task->store_name(store), from, to);
}

void StreamThread::on_record_applied(TaskId task, size_t store, const Record& record, bool standby) {
  if (standby) {
    engine_metrics_->standby_applied[store]->add();
    return;
  }
  engine_metrics_->restored[store]->add();
  auto it = tasks_.find(task.partition.value);
  if (it == tasks_.end()) return;
  TaskSlot& slot = *it->second;
  ++slot.restored_records;
  slot.restored_bytes += (record.key ? record.key->size() : 0) + (record.value ? record.value->size() : 0);
  if (auto& span = slot.restoring.at(store)) span->next = record.offset.next();
}

void StreamThread::on_restore_end(TaskId task, size_t store) {
  auto it = tasks_.find(task.partition.value);
  if (it == tasks_.end()) return;
  TaskSlot& slot = *it->second;
  slot.restoring.at(store).reset();
  slot.restore_remaining[store]->set(0);
  engine_metrics_->restore_duration[store]->observe(
      static_cast<double>(std::max<EpochMillis>(0, clock_.now_ms() - slot.restore_started_ms)) / 1000);
}

void StreamThread::close_task(Partition partition, bool clean) {
  auto it = tasks_.find(partition.value);
  if (it == tasks_.end()) return;
  TaskSlot& slot = *it->second;
  changelog_reader_->remove(partition);
  std::vector<TopicPartition> tables;
  for (auto r = table_routes_.begin(); r != table_routes_.end();) {
    if (r->second.first == partition.value) {
      tables.push_back(r->first);
      r = table_routes_.erase(r);
    } else {
      ++r;
    }
  }
  side_->unassign(tables);
  std::string at;
  for (size_t s = 0; s < slot.task->source_partitions().size(); ++s) {
    at += fmt::format("{}{}@{}", s ? ", " : "", slot.task->source_partitions()[s], slot.task->next_offsets()[s]);
  }
  log::info("task {}: closing at {} ({})", slot.task->id(), at,
            clean ? "committed" : "not committed: its partition was lost or the commit failed");
  slot.task->close();
  close_slot_metrics(slot);
  tasks_.erase(it);
  context_->task_directories().release(thread_index_, partition);
}

void StreamThread::on_revoked(const std::vector<TopicPartition>& partitions) {
  ++rebalances_;
  if (abandoned_) return;
  // Commit everything processed so far (the revoked tasks are still ours until this
  // returns), then close the revoked tasks, keeping their local state for next time.
  const bool committed = commit_all(/*handing_over=*/true);
  for (const auto& tp : partitions) close_task(tp.partition, committed);
  update_standbys();  // what we gave away, we keep warm
  publish_status();
}

void StreamThread::on_lost(const std::vector<TopicPartition>& partitions) {
  ++rebalances_;
  if (abandoned_) return;
  for (const auto& tp : partitions) close_task(tp.partition, false);
  // The open transaction holds work of the lost tasks, which must not commit now;
  // aborting it takes the remaining tasks' work too, so they redo it.
  if (exactly_once() && producer_->in_transaction()) abort_and_redo("partitions were lost");
  update_standbys();
  publish_status();
}

}  // namespace couponflow::processor
