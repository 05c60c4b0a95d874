#include "processor/store_opener.h"

#include <atomic>
#include <exception>
#include <thread>

namespace couponflow::processor {

std::unique_ptr<state::MaterializedStore> open_task_store(const TaskEnvironment& env, const state::StoreSpec& spec) {
  auto store = std::make_unique<state::MaterializedStore>(spec, env.store_factory->open(env.task_dir / spec.name, spec),
                                                          env.cache_budget);
  store->warm_up();
  return store;
}

std::vector<std::vector<std::unique_ptr<state::MaterializedStore>>> open_task_stores(
    const topology::Topology& topology, const std::vector<TaskEnvironment>& envs, size_t max_threads) {
  std::vector<std::vector<std::unique_ptr<state::MaterializedStore>>> stores(envs.size());
  std::vector<std::exception_ptr> errors(envs.size());
  std::atomic<size_t> next{0};
  // Each thread takes the next task not taken yet; a failed task stops nobody (the
  // others' stores are closed with `stores` if anything failed).
  auto open_next = [&] {
    for (size_t t; (t = next.fetch_add(1)) < envs.size();) {
      try {
        for (const state::StoreSpec& spec : topology.stores()) stores[t].push_back(open_task_store(envs[t], spec));
      } catch (...) {
        errors[t] = std::current_exception();
      }
    }
  };
  const size_t threads = std::min(max_threads, envs.size());
  if (threads <= 1) {
    open_next();
  } else {
    std::vector<std::jthread> workers;
    for (size_t i = 0; i < threads; ++i) workers.emplace_back(open_next);
  }
  for (const auto& error : errors) {
    if (error) std::rethrow_exception(error);
  }
  return stores;
}

}  // namespace couponflow::processor
