#pragma once
// Which stream thread of an instance holds which task directory (num.stream.threads).

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>

#include "common/types.h"

namespace couponflow::processor {

/// Role: the in-process exclusive holds on task directories. A task's stores (RocksDB,
/// one lock per directory) can be open in one place only, yet the threads of an
/// instance hand partitions to each other: thread A may be assigned a partition that
/// thread B still keeps warm as a standby, or (after B lost it without noticing yet)
/// still runs. Kafka Streams retries the task directory's lock until the other thread
/// lets go; so does this, with one addition: a standby gives way to an active task.
///
/// A standby is wanted only where no thread of the instance runs the task, and kept by
/// one thread (the partition modulo the thread count), so an instance holds one copy.
/// Thread: any.
class TaskDirectories {
 public:
  explicit TaskDirectories(int thread_count) : thread_count_(thread_count) {}

  int thread_count() const { return thread_count_; }

  /// Blocks until `thread` holds `partition`'s directory for an active task. A sibling's
  /// standby there is asked to give way (see standbys_to_release); while waiting,
  /// `release_own` is called so that this thread gives way to its siblings too (two
  /// threads each taking the other's standby cannot wait for each other). Returns false
  /// if `give_up()` said so first.
  bool acquire_active(int thread, Partition partition, const std::function<void()>& release_own,
                      const std::function<bool()>& give_up);
  /// Takes `partition`'s directory for a standby if this thread is the one to keep it,
  /// nobody holds it and no active task waits for it.
  bool try_acquire_standby(int thread, Partition partition);
  /// Lets go of a directory `thread` holds.
  void release(int thread, Partition partition);
  /// Whether `thread` should close its standby of `partition`: an active task of the
  /// instance wants the directory, or runs it.
  bool standby_unwanted(int thread, Partition partition) const;
  /// Changes whenever a hold is taken, given up or wanted: a thread re-examines its
  /// standbys when it has moved.
  uint64_t generation() const;

 private:
  struct Hold {
    int thread;
    bool active;
  };
  const int thread_count_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::map<int32_t, Hold> holds_;
  std::set<int32_t> wanted_;  // partitions an active task waits for
  uint64_t generation_ = 0;
};

}  // namespace couponflow::processor
