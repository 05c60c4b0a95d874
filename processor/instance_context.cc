#include "processor/instance_context.h"

#include "processor/instance_events.h"
#include "state/rocksdb/rocksdb_store.h"
#include "state/state_directory.h"

namespace couponflow::processor {

InstanceContext::InstanceContext(const StreamsConfig& config)
    : root_(config.state_dir),
      application_id_(config.application_id),
      store_factory_(std::make_unique<state::RocksDbStoreFactory>()),
      cache_budget_(std::make_shared<state::CacheBudget>(config.store_cache_bytes)),
      task_directories_(std::max(1, config.num_stream_threads)),
      ready_(static_cast<size_t>(std::max(1, config.num_stream_threads))) {
  if (!config.events_file.empty()) events_ = std::make_unique<InstanceEvents>(config.events_file);
}

InstanceContext::~InstanceContext() = default;

state::StateDirectory& InstanceContext::state_dir() {
  std::lock_guard lock(open_mutex_);
  if (!state_dir_) state_dir_ = std::make_unique<state::StateDirectory>(root_, application_id_);
  return *state_dir_;
}

bool InstanceContext::all_ready() const {
  for (const auto& r : ready_) {
    if (!r.load(std::memory_order_relaxed)) return false;
  }
  return true;
}

}  // namespace couponflow::processor
