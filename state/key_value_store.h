#pragma once
// The store interfaces processors see. Implementations live in this directory
// (MaterializedStore); nothing here knows about RocksDB or Kafka.

#include <functional>
#include <optional>
#include <string_view>

namespace couponflow::state {

/// Read access to a store or a store's view.
///
/// `get` returns a view into the store's cache. It stays valid until the same key is
/// written again or the task commits, whichever comes first; copy it to keep it longer.
class ReadableStore {
 public:
  virtual ~ReadableStore() = default;
  virtual std::string_view name() const = 0;
  virtual std::optional<std::string_view> get(std::string_view key) = 0;
  /// A hint that get(key) follows shortly: an implementation may start bringing what
  /// that lookup touches into the CPU cache, so that the caller's work in between hides
  /// the memory latency. Never changes what get returns; does nothing by default.
  virtual void prefetch(std::string_view key) { (void)key; }
  /// Calls fn for every entry, unflushed writes included, until fn returns false. In
  /// no particular order; reads the whole store: for task start-up, not per record.
  virtual void for_each(const std::function<bool(std::string_view key, std::string_view value)>& fn) = 0;
};

/// Read-write access. Every write of a changelogged store is also appended to its
/// changelog, in the order the writes happen.
class KeyValueStore : public ReadableStore {
 public:
  virtual void put(std::string_view key, std::string_view value) = 0;
  virtual void remove(std::string_view key) = 0;
};

}  // namespace couponflow::state
