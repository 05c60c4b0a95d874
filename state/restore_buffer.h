#pragma once
// The changelog records of one restore batch, for a store restored in bulk.
//
// A large restore writes the primary keyspace straight to the persistent store: records
// are appended here in changelog order (one copy of their bytes, no hashing, no cache
// bookkeeping) and, at each flush, turned into the last value of each key in key order,
// which RocksDB ingests as a file. Whether a key is present (needed only to decide
// whether a tombstone reaches the views) is answered from an index built on the first
// such question of a batch, so batches without tombstones never pay for it.
//
// Not thread-safe: owned by one store.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace couponflow::state {

class RestoreBuffer {
 public:
  /// One key's last write in the batch. The views point into the buffer: valid until
  /// the next append or clear.
  struct Latest {
    std::string_view key;
    std::optional<std::string_view> value;  // nullopt: a delete
  };

  void append(std::string_view key, std::optional<std::string_view> value);
  /// What the batch last wrote for `key`: present (true), deleted (false), or nothing
  /// (nullopt: ask the persistent store).
  std::optional<bool> contains(std::string_view key);

  /// Every key written, once, with its last write, in key order.
  std::vector<Latest> latest_sorted() const;

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  /// Bytes held (keys and values).
  size_t bytes() const { return bytes_.size(); }
  void clear();

 private:
  struct Entry {
    uint64_t key_at;
    uint32_t key_size;
    uint32_t value_size;
    bool present;
  };
  std::string_view key_of(const Entry& e) const { return {bytes_.data() + e.key_at, e.key_size}; }
  std::string_view value_of(const Entry& e) const { return {bytes_.data() + e.key_at + e.key_size, e.value_size}; }

  std::string bytes_;            // key then value of every entry, in append order
  std::vector<Entry> entries_;   // in changelog order
  // key -> index of its last entry; built by the first contains() of a batch. Keys are
  // owned copies: bytes_ may move as it grows.
  std::unordered_map<std::string, uint32_t> index_;
  bool indexed_ = false;
};

}  // namespace couponflow::state
