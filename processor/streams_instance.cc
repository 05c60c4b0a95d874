#include "processor/streams_instance.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <mutex>
#include <thread>

#include "common/log.h"

namespace couponflow::processor {

StreamsInstance::StreamsInstance(const topology::Topology& topology, StreamsConfig config,
                                 std::shared_ptr<prometheus::Registry> registry,
                                 std::shared_ptr<ClientSupplier> clients)
    : context_(std::make_shared<InstanceContext>(config)) {
  for (int i = 0; i < context_->thread_count(); ++i) {
    threads_.push_back(std::make_unique<StreamThread>(topology, config, registry, clients, context_, i));
  }
}

StreamsInstance::~StreamsInstance() = default;

InstanceEvents* StreamsInstance::events() const { return context_->events(); }

void StreamsInstance::run(const std::atomic<bool>& stop) {
  std::atomic<bool> stop_all{false};
  std::mutex failure_mutex;
  std::exception_ptr failure;
  std::atomic<size_t> running{threads_.size()};
  auto run_one = [&](StreamThread& thread) {
    try {
      thread.run(stop_all);
    } catch (...) {
      std::lock_guard lock(failure_mutex);
      if (!failure) failure = std::current_exception();
      stop_all = true;
    }
    --running;
  };
  if (threads_.size() == 1) {
    // The common case runs on the caller's thread, with the caller's stop flag.
    threads_.front()->run(stop);
    return;
  }
  std::vector<std::thread> others;
  for (size_t i = 0; i < threads_.size(); ++i) others.emplace_back(run_one, std::ref(*threads_[i]));
  // Relays a stop request, and ends every thread as soon as one fails.
  while (running.load() > 0) {
    if (stop.load(std::memory_order_relaxed) && !stop_all.load()) {
      stop_all = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (auto& t : others) t.join();
  if (failure) {
    log::error("a stream thread failed: stopping the instance");
    std::rethrow_exception(failure);
  }
}

ThreadStatus StreamsInstance::status() const {
  ThreadStatus merged;
  merged.running = true;
  merged.joined = true;
  for (const auto& thread : threads_) {
    ThreadStatus s = thread->status();
    merged.running = merged.running && s.running;
    merged.joined = merged.joined && s.joined;
    merged.tasks.insert(merged.tasks.end(), s.tasks.begin(), s.tasks.end());
    merged.standbys.insert(merged.standbys.end(), s.standbys.begin(), s.standbys.end());
    merged.partition_count = std::max(merged.partition_count, s.partition_count);
    merged.processed += s.processed;
    merged.commits += s.commits;
    merged.rebalances += s.rebalances;
    merged.aborted_transactions += s.aborted_transactions;
  }
  std::sort(merged.tasks.begin(), merged.tasks.end(),
            [](const TaskStatus& a, const TaskStatus& b) { return a.partition < b.partition; });
  std::sort(merged.standbys.begin(), merged.standbys.end());
  return merged;
}

int32_t StreamsInstance::partition_count() const {
  int32_t count = 0;
  for (const auto& thread : threads_) count = std::max(count, thread->partition_count());
  return count;
}

QueryOutcome StreamsInstance::query(Partition partition, const StoreQuery& query, int timeout_ms) const {
  // The status says which thread has the task; that thread checks again when it runs
  // the query, so a status a moment old cannot make a former owner answer.
  for (const auto& thread : threads_) {
    if (thread->has_task(partition)) return thread->query(partition, query, timeout_ms);
  }
  return QueryOutcome::kNotOwner;
}

EpochMillis StreamsInstance::last_step_ms() const {
  EpochMillis stalest = 0;
  for (size_t i = 0; i < threads_.size(); ++i) {
    const EpochMillis t = threads_[i]->last_step_ms();
    stalest = i == 0 ? t : std::min(stalest, t);
  }
  return stalest;
}

}  // namespace couponflow::processor
