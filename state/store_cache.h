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
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
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
  /// Starts loading the index slot where find(key) begins into the CPU cache. A lookup
  /// of a key never seen before is one cache miss on that slot (the index of a task with
  /// many holdings is megabytes), which the caller's work in between then hides.
  void prefetch(std::string_view key) const;
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
  size_t size() const { return live_; }

  /// Undo scope for the processing of one record: between begin_undo() and
  /// end_undo(), every change is remembered so that undo() can take it back (a
  /// processor that threw halfway must leave no trace). Not nested.
  void begin_undo();
  void end_undo();
  void undo();

 private:
  // The index is open addressing with linear probing over 8-byte slots, each holding a
  // node number and 32 bits of the key's hash, so a probe compares a key only when the
  // hashes agree; nodes live in a deque, whose elements never move, so entries handed
  // out (and values read through them) stay where they are while others are added.
  // std::unordered_map spent a node chain walk and a std::hash per lookup: 11-17% of a
  // decision's CPU (docs/performance.md).
  struct Node {
    std::string key;
    Entry entry;
    uint64_t hash = 0;
    uint32_t number = 0;  // its index in nodes_
    bool live = false;    // false: on the free list
  };
  static constexpr uint64_t kEmptySlot = 0;

  static size_t entry_bytes(std::string_view key, const Entry& e) {
    // Key, value and a rough per-node overhead of the index and the node.
    return key.size() + e.value.size() + 64;
  }
  /// The slot holding key, or the empty slot where it would go.
  size_t probe(std::string_view key, uint64_t hash) const;
  Node* find_node(std::string_view key, uint64_t hash);
  Node& insert_node(std::string_view key, uint64_t hash);
  void erase_node(Node& node);
  void grow();
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
    bool existed = false;  // false: the key was not in the cache
    Entry entry;
  };

  std::vector<uint64_t> slots_;  // (hash >> 32) << 32 | (node number + 1); 0: empty
  std::deque<Node> nodes_;
  std::vector<uint32_t> free_nodes_;  // numbers of nodes not in use
  size_t live_ = 0;
  std::vector<Node*> dirty_;
  bool recording_ = false;
  // First change of each key since begin_undo(); the first priors_used_ are current (the
  // rest keep their strings' capacity, so recording allocates nothing in steady state).
  std::vector<Prior> priors_;
  size_t priors_used_ = 0;
  size_t dirty_before_ = 0;  // dirty_.size() at begin_undo()
  size_t bytes_ = 0;
  std::shared_ptr<CacheBudget> budget_;
  bool complete_ = false;
};

}  // namespace couponflow::state
