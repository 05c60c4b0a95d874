#include "state/rocksdb/rocksdb_store.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include <cstring>
#include <vector>

#include "common/errors.h"

namespace couponflow::state {
namespace {

constexpr std::string_view kPositionKey = "changelog.position";

void check(const rocksdb::Status& status, std::string_view what, const std::filesystem::path& dir) {
  if (!status.ok()) {
    throw FatalError(fmt::format("RocksDB {} failed for {}: {}", what, dir.string(), status.ToString()));
  }
}

rocksdb::Slice slice(std::string_view s) { return {s.data(), s.size()}; }

std::string encode_offset(Offset o) {
  std::string out(sizeof(int64_t), '\0');
  std::memcpy(out.data(), &o.value, sizeof(int64_t));
  return out;
}

class RocksDbWriteSet final : public WriteSet {
 public:
  explicit RocksDbWriteSet(const std::vector<rocksdb::ColumnFamilyHandle*>& cfs) : cfs_(cfs) {}
  void put(Keyspace ks, std::string_view key, std::string_view value) override {
    // WriteBatch::Put only fails past its 4 GiB size limit, which commits never reach.
    rocksdb::Status s = batch_.Put(cfs_.at(ks), slice(key), slice(value));
    if (!s.ok()) throw FatalError("RocksDB write batch: " + s.ToString());
  }
  void remove(Keyspace ks, std::string_view key) override {
    rocksdb::Status s = batch_.Delete(cfs_.at(ks), slice(key));
    if (!s.ok()) throw FatalError("RocksDB write batch: " + s.ToString());
  }
  size_t size() const override { return static_cast<size_t>(batch_.Count()); }
  rocksdb::WriteBatch& batch() { return batch_; }

 private:
  const std::vector<rocksdb::ColumnFamilyHandle*>& cfs_;
  rocksdb::WriteBatch batch_;
};

}  // namespace

struct RocksDbStoreFactory::Shared {
  std::shared_ptr<rocksdb::Cache> block_cache;
  std::shared_ptr<rocksdb::WriteBufferManager> write_buffers;
};

namespace {

class RocksDbStore final : public PersistentStore {
 public:
  RocksDbStore(const std::filesystem::path& dir, const StoreSpec& spec,
               std::shared_ptr<RocksDbStoreFactory::Shared> shared)
      : dir_(dir), shared_(std::move(shared)) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw FatalError(fmt::format("cannot create {}: {}", dir.string(), ec.message()));

    rocksdb::BlockBasedTableOptions table;
    table.block_cache = shared_->block_cache;
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    table.cache_index_and_filter_blocks = true;

    rocksdb::ColumnFamilyOptions cf_options;
    cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    cf_options.compression = rocksdb::kLZ4Compression;
    cf_options.write_buffer_size = 16u << 20;
    cf_options.level_compaction_dynamic_level_bytes = true;

    rocksdb::DBOptions db_options;
    db_options.create_if_missing = true;
    db_options.create_missing_column_families = true;
    db_options.write_buffer_manager = shared_->write_buffers;
    db_options.max_open_files = 256;
    db_options.max_background_jobs = 2;
    db_options.keep_log_file_num = 2;

    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);
    for (const auto& view : spec.views) descriptors.emplace_back("view." + view.name, cf_options);
    descriptors.emplace_back("meta", cf_options);

    rocksdb::DB* db = nullptr;
    check(rocksdb::DB::Open(db_options, dir.string(), descriptors, &handles_, &db), "open", dir);
    db_.reset(db);
    meta_ = handles_.back();
    keyspaces_.assign(handles_.begin(), handles_.end() - 1);

    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_, slice(kPositionKey), &value);
    if (s.ok()) {
      if (value.size() != sizeof(int64_t)) {
        throw FatalError(fmt::format("corrupt changelog position in {}", dir.string()));
      }
      Offset o;
      std::memcpy(&o.value, value.data(), sizeof(int64_t));
      position_ = o;
    } else if (!s.IsNotFound()) {
      check(s, "read position", dir);
    }
  }

  ~RocksDbStore() override {
    for (auto* h : handles_) {
      // Closing a handle only fails for the default family, which is a no-op.
      [[maybe_unused]] rocksdb::Status s = db_->DestroyColumnFamilyHandle(h);
    }
    if (db_) {
      rocksdb::Status s = db_->Close();
      (void)s;  // deliberately ignored: nothing to do about a failed close at teardown
    }
  }

  std::optional<std::string> get(Keyspace ks, std::string_view key) override {
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), keyspaces_.at(ks), slice(key), &value);
    if (s.IsNotFound()) return std::nullopt;
    check(s, "get", dir_);
    return value;
  }

  std::unique_ptr<WriteSet> new_write_set() override {
    return std::make_unique<RocksDbWriteSet>(keyspaces_);
  }

  void write(WriteSet& writes, Offset position) override {
    auto& batch = static_cast<RocksDbWriteSet&>(writes).batch();
    check(batch.Put(meta_, slice(kPositionKey), slice(encode_offset(position))), "batch", dir_);
    rocksdb::WriteOptions options;
    options.sync = false;  // the WAL survives a process crash; the changelog covers the rest
    check(db_->Write(options, &batch), "write", dir_);
    position_ = position;
  }

  std::optional<Offset> position() const override { return position_; }

  void for_each(Keyspace ks,
                const std::function<bool(std::string_view, std::string_view)>& fn) override {
    rocksdb::ReadOptions options;
    options.fill_cache = false;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, keyspaces_.at(ks)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (!fn(it->key().ToStringView(), it->value().ToStringView())) break;
    }
    check(it->status(), "scan", dir_);
  }

 private:
  std::filesystem::path dir_;
  std::shared_ptr<RocksDbStoreFactory::Shared> shared_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::vector<rocksdb::ColumnFamilyHandle*> keyspaces_;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  std::optional<Offset> position_;
};

}  // namespace

RocksDbStoreFactory::RocksDbStoreFactory(RocksDbBudget budget) : shared_(std::make_shared<Shared>()) {
  shared_->block_cache = rocksdb::NewLRUCache(budget.block_cache_bytes);
  shared_->write_buffers =
      std::make_shared<rocksdb::WriteBufferManager>(budget.write_buffer_bytes, shared_->block_cache);
}

RocksDbStoreFactory::~RocksDbStoreFactory() = default;

std::unique_ptr<PersistentStore> RocksDbStoreFactory::open(const std::filesystem::path& dir,
                                                           const StoreSpec& spec) {
  return std::make_unique<RocksDbStore>(dir, spec, shared_);
}

}  // namespace couponflow::state
