#pragma once
// In-memory write-back cache of one keyspace.
//
// Serves the hot path from memory: reads hit the map, writes stay here (marked dirty)
// until the task commits and flushes them to the persistent store in one batch. Absent
// keys are cached too, and while the cache is *complete* (it holds every key of the
// keyspace, e.g. a store that fit in the budget when it was opened) a miss is a definite
// absence, so even first-time lookups never touch disk. Its bytes are charged to a
// CacheBudget that may be shared by every cache of an instance.
//
// Not thread-safe: owned by one task.

#include <algorithm>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "state/cache_budget.h"

namespace couponflow::state {

class StoreCache {
 public:
  struct Entry {
    std::string value;
    bool present = false;  // false: the key is known to be absent (or deleted)
    bool dirty = false;    // written since the last flush
  };

  /// A cache with a budget of its own.
  explicit StoreCache(size_t max_bytes) : StoreCache(std::make_shared<CacheBudget>(max_bytes)) {}
  /// A cache charging a shared budget.
  explicit StoreCache(std::shared_ptr<CacheBudget> budget) : budget_(std::move(budget)) {}
  ~StoreCache() { budget_->release(bytes_); }
  StoreCache(const StoreCache&) = delete;
  StoreCache& operator=(const StoreCache&) = delete;

  /// The cached entry for key, or nullptr when the cache knows nothing about it.
  Entry* find(std::string_view key);
  /// Records a value read from disk (clean).
  Entry& insert_clean(std::string_view key, std::optional<std::string_view> value);
  /// Records a write (dirty until the next flush).
  Entry& write(std::string_view key, std::optional<std::string_view> value);

  bool complete() const { return complete_; }
  void set_complete(bool complete) { complete_ = complete; }

  /// Calls fn for every dirty entry, in key order: RocksDB's memtable (a skiplist)
  /// inserts sorted keys several times faster than random ones.
  void for_each_dirty(const std::function<void(std::string_view key, const Entry&)>& fn);
  size_t dirty_count() const { return dirty_.size(); }
  /// Marks every entry clean; then, if the budget is over, evicts entries in proportion
  /// to this cache's share of it (towards 3/4 of the budget overall, so that the caches
  /// do not evict again at every commit), and further while the total is still over.
  /// Eviction makes the cache incomplete.
  void flushed();

  size_t bytes() const { return bytes_; }
  const CacheBudget& budget() const { return *budget_; }
  size_t size() const { return map_.size(); }

  /// Undo scope for the processing of one record: between begin_undo() and
  /// end_undo(), every change is remembered so that undo() can take it back (a
  /// processor that threw halfway must leave no trace). Not nested.
  void begin_undo();
  void end_undo();
  void undo();

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  using Map = std::unordered_map<std::string, Entry, Hash, std::equal_to<>>;

  static size_t entry_bytes(std::string_view key, const Entry& e) {
    // Key, value and a rough per-node overhead of the hash map.
    return key.size() + e.value.size() + 64;
  }
  Entry& upsert(std::string_view key, std::optional<std::string_view> value, bool dirty);
  /// Every change of bytes_ goes through these, to keep the budget's account right.
  void add_bytes(size_t n) {
    bytes_ += n;
    budget_->charge(n);
  }
  void remove_bytes(size_t n) {
    n = std::min(n, bytes_);
    bytes_ -= n;
    budget_->release(n);
  }

  struct Prior {
    std::string key;
    std::optional<Entry> entry;  // nullopt: the key was not in the map
  };

  Map map_;
  std::vector<Map::value_type*> dirty_;  // node pointers stay valid across rehashing
  bool recording_ = false;
  std::vector<Prior> priors_;  // first change of each key since begin_undo()
  size_t dirty_before_ = 0;    // dirty_.size() at begin_undo()
  size_t bytes_ = 0;
  std::shared_ptr<CacheBudget> budget_;
  bool complete_ = false;
};

}  // namespace couponflow::state
