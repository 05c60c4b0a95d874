#pragma once
// RocksDB implementation of PersistentStore. The only place that includes RocksDB.

#include <cstddef>
#include <memory>

#include "state/persistent_store.h"

namespace couponflow::state {

struct RocksDbBudget {
  /// Memory for every store of the process: block cache and memtables together.
  size_t block_cache_bytes = 256u << 20;
  /// The part of it memtables may use (RocksDB WriteBufferManager, charged to the cache).
  size_t write_buffer_bytes = 64u << 20;
};

/// Opens one RocksDB per task store, with column families "default" (primary data),
/// "view.<name>" per view and "meta" (the changelog position). All stores opened by one
/// factory share one block cache and one write-buffer budget, so memory does not grow
/// with the number of tasks (a known Kafka Streams pain).
class RocksDbStoreFactory final : public PersistentStoreFactory {
 public:
  explicit RocksDbStoreFactory(RocksDbBudget budget = {});
  ~RocksDbStoreFactory() override;
  std::unique_ptr<PersistentStore> open(const std::filesystem::path& dir,
                                        const StoreSpec& spec) override;

  /// Resources shared by the stores of this factory (defined in the .cc).
  struct Shared;

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace couponflow::state
