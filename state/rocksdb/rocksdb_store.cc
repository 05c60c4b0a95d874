#include "state/rocksdb/rocksdb_store.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/errors.h"

namespace couponflow::state {
namespace {

constexpr std::string_view kPositionKey = "changelog.position";
// Writes at least this large go through SST files and ingestion.
constexpr size_t kIngestThreshold = 20'000;

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

/// Writes collected per keyspace, in the order given (MaterializedStore gives them
/// sorted), so that a large set can become SST files instead of memtable inserts. Holds
/// views of the caller's bytes (valid until the write, see WriteSet): a large flush
/// copies nothing before RocksDB does.
class RocksDbWriteSet final : public WriteSet {
 public:
  struct Entry {
    std::string_view key;
    std::optional<std::string_view> value;  // nullopt: delete
  };
  explicit RocksDbWriteSet(size_t keyspaces) : entries_(keyspaces) {}
  void put(Keyspace ks, std::string_view key, std::string_view value) override {
    entries_.at(ks).push_back({key, value});
    ++size_;
  }
  void remove(Keyspace ks, std::string_view key) override {
    entries_.at(ks).push_back({key, std::nullopt});
    ++size_;
  }
  void put_meta(std::string_view key, std::string_view value) override { meta_.push_back({key, value}); }
  size_t size() const override { return size_; }
  void set_bulk() override { bulk_ = true; }
  bool bulk() const { return bulk_; }
  const std::vector<std::vector<Entry>>& entries() const { return entries_; }
  const std::vector<Entry>& meta() const { return meta_; }
  /// Every keyspace's keys strictly increasing, as SST files require.
  bool sorted() const {
    for (const auto& ks : entries_) {
      for (size_t i = 1; i < ks.size(); ++i) {
        if (!(ks[i - 1].key < ks[i].key)) return false;
      }
    }
    return true;
  }

 private:
  std::vector<std::vector<Entry>> entries_;
  std::vector<Entry> meta_;
  size_t size_ = 0;
  bool bulk_ = false;
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

    cf_options_.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    cf_options_.compression = rocksdb::kLZ4Compression;
    cf_options_.write_buffer_size = 16u << 20;
    cf_options_.level_compaction_dynamic_level_bytes = true;
    rocksdb::ColumnFamilyOptions& cf_options = cf_options_;

    rocksdb::DBOptions& db_options = db_options_;
    db_options.create_if_missing = true;
    db_options.create_missing_column_families = true;
    db_options.write_buffer_manager = shared_->write_buffers;
    db_options.max_open_files = 256;
    // RocksDB starts this many threads at every open to load table files (16 by
    // default, even for a new database). Stores are opened several at a time
    // (processor/store_opener.h) and are small: the spawns cost more than they save
    // (48 new stores: 13 ms each with 16, 10 ms with 1).
    db_options.max_file_opening_threads = 1;
    db_options.max_background_jobs = 2;
    db_options.keep_log_file_num = 2;
    // The position (meta) and the data live in different column families, written in
    // one batch; flushing them together keeps the files on disk consistent with each
    // other even if the unsynced WAL tail is lost with the machine.
    db_options.atomic_flush = true;

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
    return std::make_unique<RocksDbWriteSet>(keyspaces_.size());
  }

  void write(WriteSet& writes, Offset position) override {
    auto& set = static_cast<RocksDbWriteSet&>(writes);
    // A bulk load is ingested whatever its size: a restore's batches are written once
    // and never again, and a file per batch costs less than its memtable inserts.
    if ((set.size() >= kIngestThreshold || (set.bulk() && set.size() > 0)) && set.sorted()) {
      ingest(set, position);
    } else {
      rocksdb::WriteBatch batch;
      for (size_t ks = 0; ks < set.entries().size(); ++ks) {
        for (const auto& e : set.entries()[ks]) {
          check(e.value ? batch.Put(keyspaces_[ks], slice(e.key), slice(*e.value))
                        : batch.Delete(keyspaces_[ks], slice(e.key)),
                "batch", dir_);
        }
      }
      for (const auto& m : set.meta()) check(batch.Put(meta_, slice(m.key), slice(*m.value)), "batch", dir_);
      check(batch.Put(meta_, slice(kPositionKey), slice(encode_offset(position))), "batch", dir_);
      rocksdb::WriteOptions options;
      options.sync = false;  // the WAL survives a process crash; the changelog covers the rest
      check(db_->Write(options, &batch), "write", dir_);
    }
    position_ = position;
  }

  std::optional<Offset> position() const override { return position_; }

  std::optional<std::string> get_meta(std::string_view key) override {
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_, slice(key), &value);
    if (s.IsNotFound()) return std::nullopt;
    check(s, "read metadata", dir_);
    return value;
  }

  /// A large write (a restore, mostly) becomes one SST file per keyspace, ingested
  /// together with the position in one atomic step: several times faster than memtable
  /// inserts (measured here: 1M pairs, 0.8 s against 3.6 s), and just as atomic.
  void ingest(const RocksDbWriteSet& set, Offset position) {
    const rocksdb::Options options(db_options_, cf_options_);
    std::vector<rocksdb::IngestExternalFileArg> args;
    std::vector<std::string> files;
    auto add_file = [&](rocksdb::ColumnFamilyHandle* cf, const std::vector<RocksDbWriteSet::Entry>& entries) {
      const std::string path = (dir_ / fmt::format("ingest-{}-{}.sst", ++ingests_, files.size())).string();
      rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), options, cf);
      check(writer.Open(path), "create " + path, dir_);
      files.push_back(path);
      for (const auto& e : entries) {
        check(e.value ? writer.Put(slice(e.key), slice(*e.value)) : writer.Delete(slice(e.key)), "sst write", dir_);
      }
      check(writer.Finish(), "sst finish", dir_);
      rocksdb::IngestExternalFileArg arg;
      arg.column_family = cf;
      arg.external_files = {path};
      arg.options.move_files = true;  // rename, no copy
      args.push_back(std::move(arg));
    };
    try {
      for (size_t ks = 0; ks < set.entries().size(); ++ks) {
        if (!set.entries()[ks].empty()) add_file(keyspaces_[ks], set.entries()[ks]);
      }
      std::vector<RocksDbWriteSet::Entry> meta = set.meta();
      const std::string encoded_position = encode_offset(position);
      meta.push_back({kPositionKey, encoded_position});
      std::sort(meta.begin(), meta.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
      add_file(meta_, meta);
      check(db_->IngestExternalFiles(args), "ingest", dir_);
    } catch (...) {
      for (const auto& f : files) std::filesystem::remove(f);  // moved ones are gone already
      throw;
    }
  }

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

  StoreSize size() const override {
    StoreSize size;
    for (auto* cf : keyspaces_) {
      uint64_t value = 0;
      if (db_->GetIntProperty(cf, rocksdb::DB::Properties::kLiveSstFilesSize, &value)) size.bytes += value;
      if (db_->GetIntProperty(cf, rocksdb::DB::Properties::kCurSizeAllMemTables, &value)) size.bytes += value;
      if (db_->GetIntProperty(cf, rocksdb::DB::Properties::kEstimateNumKeys, &value)) size.entries += value;
    }
    return size;
  }

 private:
  std::filesystem::path dir_;
  std::shared_ptr<RocksDbStoreFactory::Shared> shared_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::vector<rocksdb::ColumnFamilyHandle*> keyspaces_;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  std::optional<Offset> position_;
  rocksdb::DBOptions db_options_;
  rocksdb::ColumnFamilyOptions cf_options_;
  uint64_t ingests_ = 0;
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
