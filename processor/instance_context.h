#pragma once
// What the stream threads of one instance share (num.stream.threads).

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "processor/streams_config.h"
#include "processor/task_directories.h"
#include "state/cache_budget.h"

namespace couponflow::state {
class StateDirectory;
class RocksDbStoreFactory;
}  // namespace couponflow::state

namespace couponflow::processor {

class InstanceEvents;

/// Role: the resources of an instance, whatever its number of stream threads: the
/// state directory (one process lock), one store cache budget
/// (statestore.cache.max.bytes), one RocksDB block cache and write-buffer budget, the
/// holds on task directories, and each thread's readiness.
/// The state directory is opened (and locked) by the first thread that starts.
/// Thread: any.
class InstanceContext {
 public:
  explicit InstanceContext(const StreamsConfig& config);
  ~InstanceContext();
  InstanceContext(const InstanceContext&) = delete;
  InstanceContext& operator=(const InstanceContext&) = delete;

  int thread_count() const { return task_directories_.thread_count(); }
  /// Opens the state directory on first use. Errors: FatalError (locked by another process).
  state::StateDirectory& state_dir();
  state::RocksDbStoreFactory& store_factory() { return *store_factory_; }
  const std::shared_ptr<state::CacheBudget>& cache_budget() const { return cache_budget_; }
  TaskDirectories& task_directories() { return task_directories_; }
  /// Where task state changes and restores are reported; null without an events file.
  InstanceEvents* events() const { return events_.get(); }

  /// Each thread says whether it is ready; the instance is when all are.
  void set_ready(int thread, bool ready) { ready_.at(thread).store(ready, std::memory_order_relaxed); }
  bool all_ready() const;

 private:
  const std::filesystem::path root_;
  const std::string application_id_;
  std::mutex open_mutex_;
  std::unique_ptr<state::StateDirectory> state_dir_;
  std::unique_ptr<state::RocksDbStoreFactory> store_factory_;
  std::shared_ptr<state::CacheBudget> cache_budget_;
  TaskDirectories task_directories_;
  std::unique_ptr<InstanceEvents> events_;
  std::vector<std::atomic<bool>> ready_;
};

}  // namespace couponflow::processor
