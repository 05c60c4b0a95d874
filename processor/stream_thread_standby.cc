#include "processor/stream_thread_internal.h"

#include "state/rocksdb/rocksdb_store.h"
#include "state/state_directory.h"

namespace couponflow::processor {

using detail::kBrokerTimeoutMs;

void StreamThread::update_standbys() {
  if (config_.num_standby_replicas <= 0 || stopping_) return;
  for (auto it = standbys_.begin(); it != standbys_.end();) {
    const int32_t p = (it++)->first;  // close_standby erases
    if (tasks_.contains(p)) close_standby(Partition{p}, false);
  }
  for (int32_t p = 0; p < partition_count_; ++p) {
    if (!tasks_.contains(p) && !standbys_.contains(p)) open_standby(Partition{p});
  }
}

void StreamThread::open_standby(Partition partition) {
  auto slot = std::make_unique<StandbySlot>();
  slot->task = std::make_unique<Task>(TaskId{partition}, topology_, task_environment(partition));
  for (const ChangelogSpec& c : slot->task->begin_standby()) {
    if (c.is_source_topic) continue;  // a table restores from its topic on takeover: small
    const Offset start = c.position.value_or(Offset{0});
    Watermarks wm;
    try {
      wm = side_->query_watermarks(c.changelog, kBrokerTimeoutMs);
    } catch (const RetriableError& e) {
      log::warn("standby {}: not kept for now: {}", TaskId{partition}, e.what());
      return;  // nothing registered yet: the slot just closes
    }
    if (start < wm.low || start > wm.high) {
      // Optional by nature: a standby that cannot be built is skipped, loudly; the
      // active task's restore makes the same check and stops if it must.
      log::warn("standby {}: not kept: its store is at {} but {} spans {}..{}", TaskId{partition}, start,
                c.changelog, wm.low, wm.high);
      return;
    }
    slot->tails.push_back({c.store_index, c.changelog, start});
  }
  for (const auto& tail : slot->tails) {
    log::info("standby {}: tailing {} from offset {}", TaskId{partition}, tail.changelog, tail.next);
    side_routes_[tail.changelog] = SideRoute{partition, SideRoute::Kind::kStandby, tail.store};
    side_->assign({{tail.changelog, tail.next}});
  }
  standbys_[partition.value] = std::move(slot);
}

void StreamThread::close_standby(Partition partition, bool hand_over) {
  auto it = standbys_.find(partition.value);
  if (it == standbys_.end()) return;
  StandbySlot& slot = *it->second;
  std::vector<TopicPartition> changelogs;
  for (auto& tail : slot.tails) {
    slot.task->finish_restore(tail.store, tail.next);  // durable: the next owner starts there
    changelogs.push_back(tail.changelog);
    side_routes_.erase(tail.changelog);
    log::info("standby {}: handing over {} at offset {}", TaskId{partition}, tail.changelog, tail.next);
  }
  side_->unassign(changelogs);
  if (hand_over) handed_over_[partition.value] = slot.task->release_stores();
  slot.task->close();
  standbys_.erase(it);
}

void StreamThread::flush_standbys() {
  for (auto& [p, slot] : standbys_) {
    for (auto& tail : slot->tails) {
      if (!tail.dirty) continue;
      slot->task->finish_restore(tail.store, tail.next);
      tail.dirty = false;
    }
  }
}

}  // namespace couponflow::processor
