#include "processor/stream_thread_internal.h"

#include <algorithm>

#include "processor/partition_guard.h"
#include "state/rocksdb/rocksdb_store.h"
#include "state/state_directory.h"

namespace couponflow::processor {

using detail::kBrokerTimeoutMs;

TaskEnvironment StreamThread::task_environment(Partition partition) const {
  TaskEnvironment env;
  env.application_id = config_.application_id;
  env.partition_count = partition_count_;
  env.task_dir = state_dir_->task_dir(TaskId{partition});
  env.store_factory = store_factory_.get();
  env.collector = producer_.get();
  env.clock = &clock_;
  env.store_cache_bytes = config_.store_cache_bytes;
  env.max_idle_ms = config_.max_task_idle_ms;
  env.processing_attempts = config_.processing_attempts;
  env.retry_backoff_ms = config_.retry_backoff_ms;
  env.metrics = metrics_.get();
  env.max_keyed_series = config_.metrics_max_keyed_series;
  env.per_record_metrics = config_.metrics_per_record;
  return env;
}

void StreamThread::finish_restore(TaskSlot& slot, size_t store) {
  auto restore = std::find_if(slot.restoring.begin(), slot.restoring.end(),
                              [&](const auto& x) { return x.store == store; });
  slot.task->finish_restore(store, restore->end);
  slot.restore_remaining[store]->set(0);
  engine_metrics_->restore_duration[store]->observe(
      static_cast<double>(std::max<EpochMillis>(0, clock_.now_ms() - slot.restore_started_ms)) / 1000);
  const TopicPartition changelog = restore->changelog;
  slot.restoring.erase(restore);
  side_routes_.erase(changelog);
  side_->unassign({changelog});
  if (slot.restoring.empty()) start_task(slot);
}

void StreamThread::check_restore_positions() {
  // Offsets that hold no record (compacted away, transaction markers) are never
  // delivered, so a restore also ends when the fetch position has passed its end.
  for (auto& [p, slot] : tasks_) {
    for (size_t i = 0; i < slot->restoring.size();) {
      const auto& restore = slot->restoring[i];
      const auto position = side_->position(restore.changelog);
      if (position && *position >= restore.end) {
        finish_restore(*slot, restore.store);  // erases restoring[i]
        i = 0;
        if (slot->task->state() != TaskState::kRestoring) break;
      } else {
        ++i;
      }
    }
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

  std::vector<std::pair<TopicPartition, std::optional<Offset>>> main_assignment;
  std::vector<TopicPartition> to_pause;
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
      const auto wm = until_done("reading watermarks", [&] { return side_->query_watermarks(sources[s], kBrokerTimeoutMs); });
      if (wm.low.value > 0) {
        log::warn("task {}: {} starts at offset {}: earlier records were deleted before this "
                  "application first read them",
                  task.id(), sources[s], wm.low);
      }
      slot->start_offsets.push_back(wm.low);
    }
    slot->fetched = slot->start_offsets;
    main_assignment.emplace_back(sources[primary_source_], slot->start_offsets[primary_source_]);

    slot->restore_started_ms = clock_.now_ms();
    std::vector<std::unique_ptr<state::MaterializedStore>> handed_over;
    if (auto h = handed_over_.find(task.id().partition.value); h != handed_over_.end()) {
      handed_over = std::move(h->second);
      handed_over_.erase(h);
    }
    for (const ChangelogSpec& c : task.begin_restore(std::move(handed_over))) {
      const auto wm = until_done("reading watermarks",
                                   [&] { return side_->query_watermarks(c.changelog, kBrokerTimeoutMs); });
      const std::string store = topology_.stores()[c.store_index].name;
      Offset end = wm.high;
      if (c.is_source_topic) {
        for (size_t s = 0; s < sources.size(); ++s) {
          if (sources[s] == c.changelog) end = slot->start_offsets[s];
        }
      }
      Offset start = c.position.value_or(Offset{0});
      if (start > end && c.is_source_topic) {
        // A table checkpointed past the committed input offset (a commit that failed
        // after its checkpoint could only be this): rebuilt from its topic, which holds
        // every row, rather than replaying requests against rows from their future.
        log::warn("task {}: table store {} is at {} but {} was committed at {}; rebuilding it from the topic",
                  task.id(), store, start, c.changelog, end);
        task.reset_store(c.store_index);
        start = Offset{0};
      }
      if (start > end) {
        throw FatalError(fmt::format(
            "task {}: store {} holds changelog {} up to offset {} but the log ends at {}: the "
            "changelog was deleted or recreated; delete {} to rebuild the store",
            task.id(), store, c.changelog, start, end, state_dir_->task_dir(task.id()).string()));
      }
      if (start < wm.low && start < end) {
        throw FatalError(fmt::format(
            "task {}: cannot restore store {}: needs {} from offset {} but the log now starts at "
            "{} (records were deleted: on Kafka a changelog must be compacted, never deleted; "
            "the embedded broker drops the oldest records beyond ~5 MB per partition)",
            task.id(), store, c.changelog, start, wm.low));
      }
      if (start == end) {
        task.finish_restore(c.store_index, end);
        continue;
      }
      log::info("task {}: restoring store {} from {} offsets {}..{} ({} records)", task.id(), store,
                c.changelog, start, end, end.value - start.value);
      slot->restoring.push_back({c.store_index, c.changelog, end, start});
      side_routes_[c.changelog] = SideRoute{task.id().partition, SideRoute::Kind::kRestore, c.store_index};
      side_->assign({{c.changelog, start}});
    }
    if (!slot->restoring.empty()) to_pause.push_back(sources[primary_source_]);
  }
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
  main_->pause(to_pause);
  for (TaskSlot* slot : opened) {
    if (slot->restoring.empty()) start_task(*slot);
  }
}

void StreamThread::start_task(TaskSlot& slot) {
  Task& task = *slot.task;
  if (slot.restored_records > 0) {
    const double seconds = std::max<EpochMillis>(1, clock_.now_ms() - slot.restore_started_ms) / 1000.0;
    log::info("task {}: restored {} records ({} bytes) in {:.3f} s ({:.0f} records/s, {:.1f} MB/s)", task.id(),
              slot.restored_records, slot.restored_bytes, seconds, slot.restored_records / seconds,
              static_cast<double>(slot.restored_bytes) / seconds / 1e6);
  }
  task.start_running(slot.start_offsets);
  std::string from;
  for (size_t s = 0; s < task.source_partitions().size(); ++s) {
    from += fmt::format("{}{}@{}", s ? ", " : "", task.source_partitions()[s], slot.start_offsets[s]);
  }
  log::info("task {}: processing from {}", task.id(), from);
  const auto& sources = task.source_partitions();
  for (size_t s = 0; s < sources.size(); ++s) {
    if (s == primary_source_) continue;
    side_routes_[sources[s]] = SideRoute{task.id().partition, SideRoute::Kind::kTable, s};
    side_->assign({{sources[s], slot.start_offsets[s]}});
  }
  main_->resume({sources[primary_source_]});
}

void StreamThread::close_task(Partition partition, bool clean) {
  auto it = tasks_.find(partition.value);
  if (it == tasks_.end()) return;
  TaskSlot& slot = *it->second;
  std::vector<TopicPartition> side_partitions;
  for (auto r = side_routes_.begin(); r != side_routes_.end();) {
    if (r->second.task == partition) {
      side_partitions.push_back(r->first);
      r = side_routes_.erase(r);
    } else {
      ++r;
    }
  }
  side_->unassign(side_partitions);
  std::string at;
  for (size_t s = 0; s < slot.task->source_partitions().size(); ++s) {
    at += fmt::format("{}{}@{}", s ? ", " : "", slot.task->source_partitions()[s], slot.task->next_offsets()[s]);
  }
  log::info("task {}: closing at {} ({})", slot.task->id(), at,
            clean ? "committed" : "not committed: its partition was lost or the commit failed");
  slot.task->close();
  close_slot_metrics(slot);
  tasks_.erase(it);
}

void StreamThread::on_revoked(const std::vector<TopicPartition>& partitions) {
  ++rebalances_;
  if (abandoned_) return;
  // Commit everything processed so far (the revoked tasks are still ours until this
  // returns), then close the revoked tasks, keeping their local state for next time.
  const bool committed = commit_all();
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
