#include "state/materialized_store.h"

#include <chrono>
#include <stdexcept>

#include <fmt/format.h>

namespace couponflow::state {

/// One keyspace (the primary data or a view): cache in front of the persistent store.
class MaterializedStore::KeyspaceStore final : public KeyValueStore {
 public:
  KeyspaceStore(std::string name, Keyspace ks, PersistentStore& persistent, std::shared_ptr<CacheBudget> budget)
      : name_(std::move(name)), ks_(ks), persistent_(persistent), cache_(std::move(budget)) {}

  std::string_view name() const override { return name_; }

  std::optional<std::string_view> get(std::string_view key) override {
    const StoreCache::Entry* e = cache_.find(key);
    if (e == nullptr) {
      if (cache_.complete()) return std::nullopt;
      auto loaded = persistent_.get(ks_, key);
      e = &cache_.insert_clean(key, loaded ? std::optional<std::string_view>(*loaded)
                                           : std::nullopt);
    }
    if (!e->present) return std::nullopt;
    return std::string_view(e->value);
  }
  void for_each(const std::function<bool(std::string_view, std::string_view)>& fn) override {
    // What is on disk, except where an unflushed write replaced it; then the unflushed
    // writes of keys the disk does not have.
    bool go = true;
    persistent_.for_each(ks_, [&](std::string_view key, std::string_view value) {
      const StoreCache::Entry* e = cache_.find(key);
      if (e != nullptr && e->dirty) {
        if (e->present) go = fn(key, e->value);
      } else {
        go = fn(key, value);
      }
      return go;
    });
    cache_.for_each_dirty([&](std::string_view key, const StoreCache::Entry& e) {
      if (!go || !e.present || persistent_.get(ks_, key)) return;
      go = fn(key, e.value);
    });
  }

  void put(std::string_view key, std::string_view value) override { cache_.write(key, value); }
  void remove(std::string_view key) override { cache_.write(key, std::nullopt); }

  void collect_dirty(WriteSet& writes) {
    cache_.for_each_dirty([&](std::string_view key, const StoreCache::Entry& e) {
      if (e.present) {
        writes.put(ks_, key, e.value);
      } else {
        writes.remove(ks_, key);
      }
    });
  }
  void flushed() { cache_.flushed(); }
  bool dirty() const { return cache_.dirty_count() > 0; }
  StoreCache& cache() { return cache_; }
  Keyspace keyspace() const { return ks_; }

 private:
  std::string name_;
  Keyspace ks_;
  PersistentStore& persistent_;
  StoreCache cache_;
};

MaterializedStore::MaterializedStore(StoreSpec spec, std::unique_ptr<PersistentStore> persistent,
                                     size_t cache_max_bytes)
    : MaterializedStore(std::move(spec), std::move(persistent), std::make_shared<CacheBudget>(cache_max_bytes)) {}

MaterializedStore::MaterializedStore(StoreSpec spec, std::unique_ptr<PersistentStore> persistent,
                                     std::shared_ptr<CacheBudget> cache_budget)
    : spec_(std::move(spec)), cache_budget_(std::move(cache_budget)), persistent_(std::move(persistent)) {
  position_ = persistent_->position();
  keyspaces_.push_back(std::make_unique<KeyspaceStore>(spec_.name, kPrimaryKeyspace, *persistent_, cache_budget_));
  for (size_t i = 0; i < spec_.views.size(); ++i) {
    keyspaces_.push_back(
        std::make_unique<KeyspaceStore>(spec_.name + "." + spec_.views[i].name, i + 1, *persistent_, cache_budget_));
  }
}

MaterializedStore::~MaterializedStore() {
  // A failure in the background is of no use to anyone once the store closes: the next
  // opening finds the position it left and restores from there.
  if (background_.valid()) background_.wait();
}

void MaterializedStore::settle() const {
  if (background_.valid()) background_.get();  // invalidates it, even when it rethrows
}

bool MaterializedStore::settled() {
  if (background_.valid() && background_.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return false;
  settle();
  return true;
}

void MaterializedStore::finish_bulk_restore_in_background(Offset position) {
  settle();
  if (!bulk_) throw std::logic_error("store " + spec_.name + ": not restoring in bulk");
  background_ = std::async(std::launch::async, [this, position] {
    flush_now(position);
    end_bulk_restore_now();
  });
}

bool MaterializedStore::bulk_restoring() const {
  settle();
  return bulk_.has_value();
}

std::optional<Offset> MaterializedStore::position() const {
  settle();
  return position_;
}

namespace {
[[noreturn]] void throw_bulk_restoring(std::string_view store, std::string_view what) {
  throw std::logic_error(fmt::format("store {}: {} during a bulk restore", store, what));
}
}  // namespace

std::optional<std::string_view> MaterializedStore::get(std::string_view key) {
  settle();
  if (bulk_) throw_bulk_restoring(spec_.name, "get");
  return keyspaces_[0]->get(key);
}

void MaterializedStore::prefetch(std::string_view key) {
  // Only a hint: while a background restore owns the cache, or a bulk restore runs, it
  // is not worth waiting for (nor safe to touch the cache).
  if (background_.valid() || bulk_) return;
  keyspaces_[0]->cache().prefetch(key);
}

void MaterializedStore::for_each(const std::function<bool(std::string_view, std::string_view)>& fn) {
  settle();
  if (bulk_) throw_bulk_restoring(spec_.name, "for_each");
  keyspaces_[0]->for_each(fn);
}

void MaterializedStore::put(std::string_view key, std::string_view value) {
  settle();
  write(key, value);
  if (changelog_ != nullptr) changelog_->append(key, value);
}

void MaterializedStore::remove(std::string_view key) {
  settle();
  write(key, std::nullopt);
  if (changelog_ != nullptr) changelog_->append(key, std::nullopt);
}

namespace {
constexpr std::string_view kSourceOffsetsMeta = "source.offsets";
}

void MaterializedStore::apply(std::string_view key, std::optional<std::string_view> value) {
  settle();
  if (key == kSourceOffsetsKey) {
    // A tombstone (couponflow reset) clears the recorded position: empty means none.
    pending_source_offsets_.emplace(value.value_or(std::string_view{}));
    return;
  }
  if (bulk_) {
    write_bulk(key, value);
  } else {
    write(key, value);
  }
}

void MaterializedStore::begin_bulk_restore() {
  settle();
  if (bulk_) return;
  // Writes of processors are flushed before a task restores (a store is opened, or
  // handed over by a standby that flushed it): nothing is lost by emptying the cache.
  if (keyspaces_[0]->dirty()) throw std::logic_error("store " + spec_.name + ": bulk restore over unflushed writes");
  // An empty store's cache can follow the batches as they are flushed; otherwise it
  // would miss what was on disk before, so it is warmed from disk at the end.
  bulk_cache_complete_ = !persistent_->position() && keyspaces_[0]->cache().size() == 0;
  reset_primary_cache();
  bulk_.emplace();
}

void MaterializedStore::end_bulk_restore() {
  settle();
  end_bulk_restore_now();
}

void MaterializedStore::end_bulk_restore_now() {
  if (!bulk_) return;
  if (!bulk_->empty()) throw std::logic_error("store " + spec_.name + ": bulk restore ended before its flush");
  bulk_.reset();
  if (bulk_cache_complete_) {
    keyspaces_[0]->cache().set_complete(true);
  } else {
    reset_primary_cache();
    warm_up_keyspace(kPrimaryKeyspace);
  }
}

void MaterializedStore::cache_bulk_batch(const std::vector<RestoreBuffer::Latest>& batch) {
  if (!bulk_cache_complete_) return;
  StoreCache& cache = keyspaces_[0]->cache();
  for (const RestoreBuffer::Latest& e : batch) {
    if (cache.budget().used_bytes() > cache.budget().max_bytes() / 2) {
      // warm_up's limit. Part of a batch cached would leave older values of its other
      // keys cached: the cache starts again empty, and end_bulk_restore warms it.
      reset_primary_cache();
      bulk_cache_complete_ = false;
      return;
    }
    cache.insert_clean(e.key, e.value);
  }
}

void MaterializedStore::reset_primary_cache() {
  keyspaces_[0] = std::make_unique<KeyspaceStore>(spec_.name, kPrimaryKeyspace, *persistent_, cache_budget_);
}

void MaterializedStore::write_bulk(std::string_view key, std::optional<std::string_view> value) {
  if (!value) {
    // A delete reaches the views only if the key is there: in this batch, or else on disk
    // (everything restored before the batch is).
    const std::optional<bool> in_batch = bulk_->contains(key);
    if (!(in_batch ? *in_batch : persistent_->get(kPrimaryKeyspace, key).has_value())) return;
  }
  bulk_->append(key, value);
  derive_views(key, value);
}

void MaterializedStore::record_source_offsets(std::string_view bytes) {
  settle();
  pending_source_offsets_.emplace(bytes);
  if (changelog_ != nullptr) changelog_->append(kSourceOffsetsKey, bytes);
}

std::optional<std::string> MaterializedStore::source_offsets() const {
  settle();
  if (pending_source_offsets_) return pending_source_offsets_;
  return persistent_->get_meta(kSourceOffsetsMeta);
}

void MaterializedStore::write(std::string_view key, std::optional<std::string_view> value) {
  if (value) {
    keyspaces_[0]->put(key, *value);
  } else {
    if (!keyspaces_[0]->get(key)) return;  // nothing to delete: the views stay as they are
    keyspaces_[0]->remove(key);
  }
  derive_views(key, value);
}

void MaterializedStore::derive_views(std::string_view key, std::optional<std::string_view> value) {
  for (size_t i = 0; i < spec_.views.size(); ++i) {
    spec_.views[i].derive(key, value, *keyspaces_[i + 1]);
  }
}

ReadableStore& MaterializedStore::view(std::string_view name) {
  settle();
  for (size_t i = 0; i < spec_.views.size(); ++i) {
    if (spec_.views[i].name == name) return *keyspaces_[i + 1];
  }
  throw std::out_of_range("store " + spec_.name + " has no view " + std::string(name));
}

bool MaterializedStore::has_unflushed_writes() const {
  settle();
  return unflushed_writes();
}

bool MaterializedStore::unflushed_writes() const {
  if (pending_source_offsets_) return true;
  if (bulk_ && !bulk_->empty()) return true;
  for (const auto& ks : keyspaces_) {
    if (ks->dirty()) return true;
  }
  return false;
}

void MaterializedStore::flush(Offset position) {
  settle();
  flush_now(position);
}

void MaterializedStore::flush_now(Offset position) {
  if (!unflushed_writes() && position_ == position) return;
  auto writes = persistent_->new_write_set();
  std::vector<RestoreBuffer::Latest> restored;  // the bytes stay in bulk_ until written
  if (bulk_) {
    writes->set_bulk();
    restored = bulk_->latest_sorted();
    for (const RestoreBuffer::Latest& e : restored) {
      if (e.value) {
        writes->put(kPrimaryKeyspace, e.key, *e.value);
      } else {
        writes->remove(kPrimaryKeyspace, e.key);
      }
    }
  }
  for (const auto& ks : keyspaces_) ks->collect_dirty(*writes);
  if (pending_source_offsets_) writes->put_meta(kSourceOffsetsMeta, *pending_source_offsets_);
  persistent_->write(*writes, position);
  if (bulk_) {
    cache_bulk_batch(restored);
    bulk_->clear();
  }
  pending_source_offsets_.reset();
  for (const auto& ks : keyspaces_) ks->flushed();
  position_ = position;
}

void MaterializedStore::begin_record() {
  settle();
  for (auto& ks : keyspaces_) ks->cache().begin_undo();
}

void MaterializedStore::commit_record() {
  settle();
  for (auto& ks : keyspaces_) ks->cache().end_undo();
}

void MaterializedStore::rollback_record() {
  settle();
  for (auto& ks : keyspaces_) ks->cache().undo();
}

void MaterializedStore::warm_up() {
  settle();
  for (size_t i = 0; i < keyspaces_.size(); ++i) warm_up_keyspace(i);
}

void MaterializedStore::warm_up_keyspace(size_t index) {
  KeyspaceStore& ks = *keyspaces_[index];
  StoreCache& cache = ks.cache();
  if (!persistent_->position()) {
    // Never written: the store is empty, so the empty cache is complete.
    cache.set_complete(true);
    return;
  }
  // Fill the budget at most half: the caches need room for the writes still to come,
  // and other tasks' stores warm up from the same budget.
  bool fits = true;
  persistent_->for_each(ks.keyspace(), [&](std::string_view key, std::string_view value) {
    if (cache.budget().used_bytes() > cache.budget().max_bytes() / 2) {
      fits = false;
      return false;
    }
    cache.insert_clean(key, value);
    return true;
  });
  cache.set_complete(fits);
}

std::map<std::string, std::string> MaterializedStore::snapshot(std::string_view view_name) {
  settle();
  KeyspaceStore* ks = keyspaces_[0].get();
  if (!view_name.empty()) ks = static_cast<KeyspaceStore*>(&view(view_name));
  std::map<std::string, std::string> result;
  persistent_->for_each(ks->keyspace(), [&](std::string_view key, std::string_view value) {
    result.emplace(key, value);
    return true;
  });
  if (bulk_ && ks == keyspaces_[0].get()) {
    for (const RestoreBuffer::Latest& e : bulk_->latest_sorted()) {
      if (e.value) {
        result.insert_or_assign(std::string(e.key), std::string(*e.value));
      } else {
        result.erase(std::string(e.key));
      }
    }
    return result;
  }
  ks->cache().for_each_dirty([&](std::string_view key, const StoreCache::Entry& e) {
    if (e.present) {
      result.insert_or_assign(std::string(key), e.value);
    } else {
      result.erase(std::string(key));
    }
  });
  return result;
}

}  // namespace couponflow::state
