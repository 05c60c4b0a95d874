#include "state/store_cache.h"

#include <algorithm>
#include <stdexcept>

#include "common/string_hash.h"

namespace couponflow::state {

namespace {

constexpr size_t kInitialSlots = 64;

uint64_t slot_of(uint64_t hash, uint32_t node_number) {
  return (hash & 0xffffffff00000000ull) | (static_cast<uint64_t>(node_number) + 1);
}
uint32_t node_number_of(uint64_t slot) { return static_cast<uint32_t>(slot & 0xffffffffull) - 1; }
bool same_hash_high(uint64_t slot, uint64_t hash) { return (slot ^ hash) >> 32 == 0; }

}  // namespace

size_t StoreCache::probe(std::string_view key, uint64_t hash) const {
  const size_t mask = slots_.size() - 1;
  for (size_t i = static_cast<size_t>(hash) & mask;; i = (i + 1) & mask) {
    const uint64_t slot = slots_[i];
    if (slot == kEmptySlot) return i;
    if (same_hash_high(slot, hash)) {
      const Node& node = nodes_[node_number_of(slot)];
      if (node.hash == hash && node.key == key) return i;
    }
  }
}

StoreCache::Node* StoreCache::find_node(std::string_view key, uint64_t hash) {
  if (slots_.empty()) return nullptr;
  const uint64_t slot = slots_[probe(key, hash)];
  return slot == kEmptySlot ? nullptr : &nodes_[node_number_of(slot)];
}

StoreCache::Node& StoreCache::insert_node(std::string_view key, uint64_t hash) {
  // At most 3/4 full, so probes stay short and always end at an empty slot.
  if ((live_ + 1) * 4 > slots_.size() * 3) grow();
  Node* node;
  if (!free_nodes_.empty()) {
    node = &nodes_[free_nodes_.back()];
    free_nodes_.pop_back();
  } else {
    if (nodes_.size() >= 0xffffffffull) throw std::length_error("store cache: too many entries");
    node = &nodes_.emplace_back();
    node->number = static_cast<uint32_t>(nodes_.size() - 1);
  }
  node->key.assign(key.data(), key.size());
  node->entry.value.clear();
  node->entry.present = false;
  node->entry.dirty = false;
  node->hash = hash;
  node->live = true;
  slots_[probe(key, hash)] = slot_of(hash, node->number);
  ++live_;
  return *node;
}

void StoreCache::erase_node(Node& node) {
  const size_t mask = slots_.size() - 1;
  size_t hole = probe(node.key, node.hash);
  // Backward-shift deletion: later members of the probe run move up into the hole when
  // their home slot is not between the hole and themselves, so no tombstones pile up.
  for (size_t i = (hole + 1) & mask; slots_[i] != kEmptySlot; i = (i + 1) & mask) {
    const size_t home = static_cast<size_t>(nodes_[node_number_of(slots_[i])].hash) & mask;
    const bool home_after_hole = ((i - home) & mask) < ((i - hole) & mask);
    if (home_after_hole) continue;
    slots_[hole] = slots_[i];
    hole = i;
  }
  slots_[hole] = kEmptySlot;
  // The strings' memory is given back: eviction is how the cache shrinks.
  std::string().swap(node.key);
  std::string().swap(node.entry.value);
  node.live = false;
  free_nodes_.push_back(node.number);
  --live_;
}

void StoreCache::grow() {
  std::vector<uint64_t> old = std::move(slots_);
  slots_.assign(std::max(kInitialSlots, old.size() * 2), kEmptySlot);
  const size_t mask = slots_.size() - 1;
  for (const uint64_t slot : old) {
    if (slot == kEmptySlot) continue;
    size_t i = static_cast<size_t>(nodes_[node_number_of(slot)].hash) & mask;
    while (slots_[i] != kEmptySlot) i = (i + 1) & mask;
    slots_[i] = slot;
  }
}

void StoreCache::prefetch(std::string_view key) const {
  if (slots_.empty()) return;
  __builtin_prefetch(&slots_[static_cast<size_t>(hash_string(key)) & (slots_.size() - 1)]);
}

StoreCache::Entry* StoreCache::find(std::string_view key) {
  Node* node = find_node(key, hash_string(key));
  return node == nullptr ? nullptr : &node->entry;
}

StoreCache::Entry& StoreCache::insert_clean(std::string_view key, std::optional<std::string_view> value) {
  return upsert(key, value, false);
}

StoreCache::Entry& StoreCache::write(std::string_view key, std::optional<std::string_view> value) {
  return upsert(key, value, true);
}

StoreCache::Entry& StoreCache::upsert(std::string_view key, std::optional<std::string_view> value, bool dirty) {
  const uint64_t hash = hash_string(key);
  Node* node = find_node(key, hash);
  if (recording_) {
    // A record writes a handful of keys: a linear search is the cheapest set.
    bool seen = false;
    for (size_t i = 0; i < priors_used_ && !seen; ++i) seen = priors_[i].key == key;
    if (!seen) {
      if (priors_used_ == priors_.size()) priors_.emplace_back();
      Prior& prior = priors_[priors_used_++];
      prior.key.assign(key.data(), key.size());
      prior.existed = node != nullptr;
      if (node != nullptr) prior.entry = node->entry;  // assignment keeps the string's capacity
    }
  }
  if (node == nullptr) node = &insert_node(key, hash);
  Entry& e = node->entry;
  remove_bytes(entry_bytes(key, e));
  e.present = value.has_value();
  if (value) {
    e.value.assign(value->data(), value->size());
  } else {
    e.value.clear();
  }
  if (dirty && !e.dirty) {
    e.dirty = true;
    dirty_.push_back(node);
  }
  add_bytes(entry_bytes(key, e));
  return e;
}

void StoreCache::for_each_dirty(const std::function<void(std::string_view, const Entry&)>& fn) {
  std::sort(dirty_.begin(), dirty_.end(), [](const Node* a, const Node* b) { return a->key < b->key; });
  for (const Node* node : dirty_) fn(node->key, node->entry);
}

void StoreCache::begin_undo() {
  recording_ = true;
  priors_used_ = 0;
  dirty_before_ = dirty_.size();
}

void StoreCache::end_undo() {
  recording_ = false;
  priors_used_ = 0;
}

void StoreCache::undo() {
  recording_ = false;
  // Keys first dirtied in the scope were appended to dirty_ after dirty_before_;
  // keys dirty before the scope stay listed and get their prior entry back below.
  dirty_.resize(dirty_before_);
  for (size_t i = priors_used_; i-- > 0;) {
    const Prior& prior = priors_[i];
    Node* node = find_node(prior.key, hash_string(prior.key));
    if (node == nullptr) continue;
    remove_bytes(entry_bytes(node->key, node->entry));
    if (prior.existed) {
      node->entry = prior.entry;
      add_bytes(entry_bytes(node->key, node->entry));
    } else {
      erase_node(*node);
    }
  }
  priors_used_ = 0;
}

void StoreCache::flushed() {
  for (Node* node : dirty_) node->entry.dirty = false;
  dirty_.clear();
  if (!budget_->over() || bytes_ == 0) return;
  // This cache's part of bringing the total to 3/4 of the budget: the same fraction of
  // every cache, whichever flushes first; and more while the total is still over (the
  // writes of one commit interval may have filled it). Evicted in node order.
  const double keep = static_cast<double>(budget_->max_bytes() / 4 * 3) / static_cast<double>(budget_->used_bytes());
  const auto target = static_cast<size_t>(static_cast<double>(bytes_) * keep);
  for (size_t i = 0; i < nodes_.size() && (bytes_ > target || budget_->over()); ++i) {
    Node& node = nodes_[i];
    if (!node.live) continue;
    remove_bytes(entry_bytes(node.key, node.entry));
    erase_node(node);
  }
  complete_ = false;
}

}  // namespace couponflow::state
