#include "processor/task_directories.h"

#include <chrono>

namespace couponflow::processor {

bool TaskDirectories::acquire_active(int thread, Partition partition, const std::function<void()>& release_own,
                                     const std::function<bool()>& give_up) {
  std::unique_lock lock(mutex_);
  for (;;) {
    auto it = holds_.find(partition.value);
    if (it == holds_.end() || it->second.thread == thread) {
      holds_[partition.value] = Hold{thread, true};
      wanted_.erase(partition.value);
      ++generation_;
      changed_.notify_all();
      return true;
    }
    if (wanted_.insert(partition.value).second) {
      ++generation_;
      changed_.notify_all();
    }
    lock.unlock();
    release_own();
    if (give_up()) {
      lock.lock();
      wanted_.erase(partition.value);
      ++generation_;
      return false;
    }
    lock.lock();
    changed_.wait_for(lock, std::chrono::milliseconds(10));
  }
}

bool TaskDirectories::try_acquire_standby(int thread, Partition partition) {
  std::lock_guard lock(mutex_);
  if (partition.value % thread_count_ != thread % thread_count_) return false;
  if (holds_.contains(partition.value) || wanted_.contains(partition.value)) return false;
  holds_[partition.value] = Hold{thread, false};
  ++generation_;
  return true;
}

void TaskDirectories::release(int thread, Partition partition) {
  std::lock_guard lock(mutex_);
  auto it = holds_.find(partition.value);
  if (it == holds_.end() || it->second.thread != thread) return;
  holds_.erase(it);
  ++generation_;
  changed_.notify_all();
}

bool TaskDirectories::standby_unwanted(int thread, Partition partition) const {
  std::lock_guard lock(mutex_);
  if (wanted_.contains(partition.value)) return true;
  auto it = holds_.find(partition.value);
  return it != holds_.end() && (it->second.active || it->second.thread != thread);
}

uint64_t TaskDirectories::generation() const {
  std::lock_guard lock(mutex_);
  return generation_;
}

}  // namespace couponflow::processor
