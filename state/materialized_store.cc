#include "state/materialized_store.h"

#include <stdexcept>

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
    : spec_(std::move(spec)), persistent_(std::move(persistent)) {
  position_ = persistent_->position();
  keyspaces_.push_back(std::make_unique<KeyspaceStore>(spec_.name, kPrimaryKeyspace, *persistent_, cache_budget));
  for (size_t i = 0; i < spec_.views.size(); ++i) {
    keyspaces_.push_back(
        std::make_unique<KeyspaceStore>(spec_.name + "." + spec_.views[i].name, i + 1, *persistent_, cache_budget));
  }
}

MaterializedStore::~MaterializedStore() = default;

std::optional<std::string_view> MaterializedStore::get(std::string_view key) {
  return keyspaces_[0]->get(key);
}

void MaterializedStore::for_each(const std::function<bool(std::string_view, std::string_view)>& fn) {
  keyspaces_[0]->for_each(fn);
}

void MaterializedStore::put(std::string_view key, std::string_view value) {
  write(key, value);
  if (changelog_ != nullptr) changelog_->append(key, value);
}

void MaterializedStore::remove(std::string_view key) {
  write(key, std::nullopt);
  if (changelog_ != nullptr) changelog_->append(key, std::nullopt);
}

namespace {
constexpr std::string_view kSourceOffsetsMeta = "source.offsets";
}

void MaterializedStore::apply(std::string_view key, std::optional<std::string_view> value) {
  if (key == kSourceOffsetsKey) {
    // A tombstone (couponflow reset) clears the recorded position: empty means none.
    pending_source_offsets_.emplace(value.value_or(std::string_view{}));
    return;
  }
  write(key, value);
}

void MaterializedStore::record_source_offsets(std::string_view bytes) {
  pending_source_offsets_.emplace(bytes);
  if (changelog_ != nullptr) changelog_->append(kSourceOffsetsKey, bytes);
}

std::optional<std::string> MaterializedStore::source_offsets() const {
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
  for (size_t i = 0; i < spec_.views.size(); ++i) {
    spec_.views[i].derive(key, value, *keyspaces_[i + 1]);
  }
}

ReadableStore& MaterializedStore::view(std::string_view name) {
  for (size_t i = 0; i < spec_.views.size(); ++i) {
    if (spec_.views[i].name == name) return *keyspaces_[i + 1];
  }
  throw std::out_of_range("store " + spec_.name + " has no view " + std::string(name));
}

bool MaterializedStore::has_unflushed_writes() const {
  if (pending_source_offsets_) return true;
  for (const auto& ks : keyspaces_) {
    if (ks->dirty()) return true;
  }
  return false;
}

void MaterializedStore::flush(Offset position) {
  if (!has_unflushed_writes() && position_ == position) return;
  auto writes = persistent_->new_write_set();
  for (const auto& ks : keyspaces_) ks->collect_dirty(*writes);
  if (pending_source_offsets_) writes->put_meta(kSourceOffsetsMeta, *pending_source_offsets_);
  persistent_->write(*writes, position);
  pending_source_offsets_.reset();
  for (const auto& ks : keyspaces_) ks->flushed();
  position_ = position;
}

void MaterializedStore::begin_record() {
  for (auto& ks : keyspaces_) ks->cache().begin_undo();
}

void MaterializedStore::commit_record() {
  for (auto& ks : keyspaces_) ks->cache().end_undo();
}

void MaterializedStore::rollback_record() {
  for (auto& ks : keyspaces_) ks->cache().undo();
}

void MaterializedStore::warm_up() {
  for (auto& ks : keyspaces_) {
    StoreCache& cache = ks->cache();
    if (!persistent_->position()) {
      // Never written: the store is empty, so the empty cache is complete.
      cache.set_complete(true);
      continue;
    }
    // Fill the budget at most half: the caches need room for the writes still to come,
    // and other tasks' stores warm up from the same budget.
    bool fits = true;
    persistent_->for_each(ks->keyspace(), [&](std::string_view key, std::string_view value) {
      if (cache.budget().used_bytes() > cache.budget().max_bytes() / 2) {
        fits = false;
        return false;
      }
      cache.insert_clean(key, value);
      return true;
    });
    cache.set_complete(fits);
  }
}

std::map<std::string, std::string> MaterializedStore::snapshot(std::string_view view_name) {
  KeyspaceStore* ks = keyspaces_[0].get();
  if (!view_name.empty()) ks = static_cast<KeyspaceStore*>(&view(view_name));
  std::map<std::string, std::string> result;
  persistent_->for_each(ks->keyspace(), [&](std::string_view key, std::string_view value) {
    result.emplace(key, value);
    return true;
  });
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
