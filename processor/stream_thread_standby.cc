#include "processor/stream_thread_internal.h"

#include "state/rocksdb/rocksdb_store.h"
#include "state/state_directory.h"

namespace couponflow::processor {


void StreamThread::update_standbys() {
  if (config_.num_standby_replicas <= 0 || stopping_) return;
  TaskDirectories& directories = context_->task_directories();
  directories_generation_ = directories.generation();
  for (auto it = standbys_.begin(); it != standbys_.end();) {
    const int32_t p = (it++)->first;  // close_standby erases
    if (tasks_.contains(p) || directories.standby_unwanted(thread_index_, Partition{p})) {
      close_standby(Partition{p}, false);
    }
  }
  // One copy per instance: a partition no thread of it runs, kept by one thread.
  for (int32_t p = 0; p < partition_count_; ++p) {
    if (!tasks_.contains(p) && !standbys_.contains(p) && directories.try_acquire_standby(thread_index_, Partition{p})) {
      open_standby(Partition{p});
    }
  }
}

void StreamThread::open_standby(Partition partition) {
  auto slot = std::make_unique<StandbySlot>();
  slot->task = std::make_unique<Task>(TaskId{partition}, topology_, task_environment(partition));
  if (!changelog_reader_->add_standby(*slot->task, slot->task->begin_standby())) {
    slot->task->close();
    context_->task_directories().release(thread_index_, partition);
    return;
  }
  standbys_[partition.value] = std::move(slot);
}

void StreamThread::close_standby(Partition partition, bool hand_over) {
  auto it = standbys_.find(partition.value);
  if (it == standbys_.end()) return;
  StandbySlot& slot = *it->second;
  changelog_reader_->remove(partition);  // durable at the position reached: the next owner starts there
  if (hand_over) handed_over_[partition.value] = slot.task->release_stores();
  slot.task->close();
  standbys_.erase(it);
  // Handed over, the stores stay open for this thread's task: so does the hold.
  if (!hand_over) context_->task_directories().release(thread_index_, partition);
}

}  // namespace couponflow::processor
