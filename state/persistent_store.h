#pragma once
// The durable half of a task store, behind a narrow interface so the engine and its
// tests never include RocksDB (the one implementation is state/rocksdb/rocksdb_store.h).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/types.h"
#include "state/store_spec.h"

namespace couponflow::state {

/// Keyspace 0 is the store's primary data; keyspace i (1..n) is the store's i-th view.
using Keyspace = size_t;
inline constexpr Keyspace kPrimaryKeyspace = 0;

/// A set of writes applied atomically by PersistentStore::write. It refers to the bytes
/// it is given, without copying them: they must stay valid until that write returns.
class WriteSet {
 public:
  virtual ~WriteSet() = default;
  virtual void put(Keyspace ks, std::string_view key, std::string_view value) = 0;
  virtual void remove(Keyspace ks, std::string_view key) = 0;
  /// Store metadata (beside the position, outside every keyspace: never seen by reads).
  virtual void put_meta(std::string_view key, std::string_view value) = 0;
  virtual size_t size() const = 0;
  /// A bulk load (a restore batch, in key order per keyspace): written the cheapest way
  /// for large sets whatever its size, e.g. as files ingested, not one insert per entry.
  virtual void set_bulk() {}
};

/// What a store occupies, as the storage engine estimates it (for metrics).
struct StoreSize {
  uint64_t bytes = 0;    // live data: files plus memory not yet written to files
  uint64_t entries = 0;  // keys, every keyspace together
};

/// One task store on disk: its keyspaces plus its changelog position, i.e. the next
/// changelog offset whose effect the store does not yet hold.
///
/// Data and position change together in one atomic write, so after any crash the store
/// holds exactly the changelog prefix its position names (no checkpoint file that could
/// fall out of step with the data). Not thread-safe: one thread at a time uses it (the
/// task's, or a bulk restore's background thread), except size(), which any may call.
/// Every method throws FatalError on an I/O or corruption error.
class PersistentStore {
 public:
  virtual ~PersistentStore() = default;

  virtual std::optional<std::string> get(Keyspace ks, std::string_view key) = 0;
  virtual std::unique_ptr<WriteSet> new_write_set() = 0;
  /// Applies `writes` and sets the position, atomically. Not synced to disk: a process
  /// crash loses nothing written; an OS crash may lose a suffix, which the changelog
  /// replays (the position rolls back with the data).
  virtual void write(WriteSet& writes, Offset position) = 0;
  /// The next changelog offset to restore from; nullopt for a store never written.
  virtual std::optional<Offset> position() const = 0;
  /// Metadata written with WriteSet::put_meta.
  virtual std::optional<std::string> get_meta(std::string_view key) = 0;
  /// Calls fn for every entry of ks in key order until fn returns false.
  virtual void for_each(Keyspace ks,
                        const std::function<bool(std::string_view, std::string_view)>& fn) = 0;
  /// Cheap: read from the engine's statistics, no scan. Thread: any, even during a
  /// write on another (metrics read it while a restore writes in the background).
  virtual StoreSize size() const = 0;
};

/// Opens task stores. Implementations share memory budgets (block cache, write
/// buffers) across every store they open.
class PersistentStoreFactory {
 public:
  virtual ~PersistentStoreFactory() = default;
  virtual std::unique_ptr<PersistentStore> open(const std::filesystem::path& dir,
                                                const StoreSpec& spec) = 0;
};

}  // namespace couponflow::state
