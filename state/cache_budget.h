#pragma once
// One memory budget for the store caches of an instance: statestore.cache.max.bytes with
// Kafka Streams' meaning (one figure per instance, whatever the number of tasks and
// stores), so an instance that takes over every partition during a failover needs no
// more cache memory than it had.

#include <atomic>
#include <cstddef>

namespace couponflow::state {

/// statestore.cache.max.bytes by default: room for about a million holdings in memory.
inline constexpr size_t kDefaultStoreCacheBytes = 128u << 20;

/// Role: the shared account every StoreCache charges its bytes to. Caches evict at
/// their next flush while the account is over budget, each in proportion to its size,
/// so the total returns under the budget within a commit interval of going over.
/// Thread: any (atomic counters); caches of several threads may share one budget.
class CacheBudget {
 public:
  explicit CacheBudget(size_t max_bytes) : max_bytes_(max_bytes) {}
  CacheBudget(const CacheBudget&) = delete;
  CacheBudget& operator=(const CacheBudget&) = delete;

  size_t max_bytes() const { return max_bytes_; }
  size_t used_bytes() const { return used_.load(std::memory_order_relaxed); }
  bool over() const { return used_bytes() > max_bytes_; }

  void charge(size_t bytes) { used_.fetch_add(bytes, std::memory_order_relaxed); }
  void release(size_t bytes) { used_.fetch_sub(bytes, std::memory_order_relaxed); }

 private:
  const size_t max_bytes_;
  std::atomic<size_t> used_{0};
};

}  // namespace couponflow::state
