#pragma once
// In-memory write-back cache of one keyspace.
//
// Serves the hot path from memory: reads hit the map, writes stay here (marked dirty)
// until the task commits and flushes them to the persistent store in one batch. Absent
// keys are cached too, and while the cache is *complete* (it holds every key of the
// keyspace, e.g. a store that fit in the budget when it was opened) a miss is a definite
// absence, so even first-time lookups never touch disk.
//
// Not thread-safe: owned by one task.

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace couponflow::state {

class StoreCache {
 public:
  struct Entry {
    std::string value;
    bool present = false;  // false: the key is known to be absent (or deleted)
    bool dirty = false;    // written since the last flush
  };

  explicit StoreCache(size_t max_bytes) : max_bytes_(max_bytes) {}

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
  /// Marks every entry clean, then evicts clean entries while over budget. Eviction
  /// makes the cache incomplete.
  void flushed();

  size_t bytes() const { return bytes_; }
  size_t max_bytes() const { return max_bytes_; }
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
  size_t max_bytes_;
  bool complete_ = false;
};

}  // namespace couponflow::state
