#include "state/store_cache.h"

#include <algorithm>

namespace couponflow::state {

StoreCache::Entry* StoreCache::find(std::string_view key) {
  auto it = map_.find(key);
  return it == map_.end() ? nullptr : &it->second;
}

StoreCache::Entry& StoreCache::insert_clean(std::string_view key,
                                            std::optional<std::string_view> value) {
  return upsert(key, value, false);
}

StoreCache::Entry& StoreCache::write(std::string_view key, std::optional<std::string_view> value) {
  return upsert(key, value, true);
}

StoreCache::Entry& StoreCache::upsert(std::string_view key, std::optional<std::string_view> value,
                                      bool dirty) {
  auto it = map_.find(key);
  if (recording_) {
    // A record writes a handful of keys: a linear search is the cheapest set.
    bool seen = false;
    for (const auto& p : priors_) seen = seen || p.key == key;
    if (!seen) {
      priors_.push_back({std::string(key), it == map_.end() ? std::nullopt : std::optional<Entry>(it->second)});
    }
  }
  if (it == map_.end()) it = map_.emplace(std::string(key), Entry{}).first;
  Entry& e = it->second;
  remove_bytes(entry_bytes(key, e));
  e.present = value.has_value();
  if (value) {
    e.value.assign(value->data(), value->size());
  } else {
    e.value.clear();
  }
  if (dirty && !e.dirty) {
    e.dirty = true;
    dirty_.push_back(&*it);
  }
  add_bytes(entry_bytes(key, e));
  return e;
}

void StoreCache::for_each_dirty(const std::function<void(std::string_view, const Entry&)>& fn) {
  std::sort(dirty_.begin(), dirty_.end(), [](const auto* a, const auto* b) { return a->first < b->first; });
  for (const auto* node : dirty_) fn(node->first, node->second);
}

void StoreCache::begin_undo() {
  recording_ = true;
  priors_.clear();
  dirty_before_ = dirty_.size();
}

void StoreCache::end_undo() {
  recording_ = false;
  priors_.clear();
}

void StoreCache::undo() {
  recording_ = false;
  // Keys first dirtied in the scope were appended to dirty_ after dirty_before_;
  // keys dirty before the scope stay listed and get their prior entry back below.
  dirty_.resize(dirty_before_);
  for (auto p = priors_.rbegin(); p != priors_.rend(); ++p) {
    auto it = map_.find(p->key);
    if (it == map_.end()) continue;
    remove_bytes(entry_bytes(it->first, it->second));
    if (p->entry) {
      it->second = *p->entry;
      add_bytes(entry_bytes(it->first, it->second));
    } else {
      map_.erase(it);
    }
  }
  priors_.clear();
}

void StoreCache::flushed() {
  for (auto* node : dirty_) node->second.dirty = false;
  dirty_.clear();
  if (!budget_->over() || bytes_ == 0) return;
  // This cache's part of bringing the total to 3/4 of the budget: the same fraction of
  // every cache, whichever flushes first; and more while the total is still over (the
  // writes of one commit interval may have filled it). Evicted in hash order.
  const double keep = static_cast<double>(budget_->max_bytes() / 4 * 3) / static_cast<double>(budget_->used_bytes());
  const auto target = static_cast<size_t>(static_cast<double>(bytes_) * keep);
  for (auto it = map_.begin(); it != map_.end() && (bytes_ > target || budget_->over());) {
    remove_bytes(entry_bytes(it->first, it->second));
    it = map_.erase(it);
  }
  complete_ = false;
}

}  // namespace couponflow::state
