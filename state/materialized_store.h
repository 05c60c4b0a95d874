#pragma once
// A task's key-value store as processors use it: an in-memory write-back cache over a
// persistent store, with every write appended to the store's changelog and its views
// kept in step.

#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/types.h"
#include "state/key_value_store.h"
#include "state/persistent_store.h"
#include "state/restore_buffer.h"
#include "state/store_cache.h"
#include "state/store_spec.h"

namespace couponflow::state {

/// The key under which a task records, in one of its stores' changelogs, the input
/// offsets its outputs and state changes cover (see MaterializedStore::
/// record_source_offsets). Reserved: the leading NUL keeps it apart from any key a
/// processor writes through the contract's formats.
inline constexpr std::string_view kSourceOffsetsKey{"\0couponflow.source-offsets", 26};

/// Where a store's writes go besides the store: the task sends them to the store's
/// changelog topic partition. Asynchronous; the task learns the offsets at commit.
class ChangelogWriter {
 public:
  virtual ~ChangelogWriter() = default;
  virtual void append(std::string_view key, std::optional<std::string_view> value) = 0;
};

/// Role: the processor-facing KeyValueStore of one task store.
/// Lifecycle: opened by its task (which warms the cache), restored through `apply`,
/// written through `put`/`remove`, made durable through `flush` after each commit.
/// Thread: the owning task's thread only; a bulk restore's last flush may run on a
/// thread of its own (finish_bulk_restore_in_background), and every call but size()
/// waits for it.
/// Errors: persistent-store failures surface as FatalError.
class MaterializedStore final : public KeyValueStore {
 public:
  /// The caches of its keyspaces (data and views) share a budget of their own.
  MaterializedStore(StoreSpec spec, std::unique_ptr<PersistentStore> persistent,
                    size_t cache_max_bytes);
  /// The caches charge `cache_budget`, shared with other stores (the instance's).
  MaterializedStore(StoreSpec spec, std::unique_ptr<PersistentStore> persistent,
                    std::shared_ptr<CacheBudget> cache_budget);
  ~MaterializedStore() override;

  std::string_view name() const override { return spec_.name; }
  const StoreSpec& spec() const { return spec_; }

  std::optional<std::string_view> get(std::string_view key) override;
  void prefetch(std::string_view key) override;
  void for_each(const std::function<bool(std::string_view, std::string_view)>& fn) override;
  void put(std::string_view key, std::string_view value) override;
  void remove(std::string_view key) override;

  /// Writes are logged to `changelog` from now on; nullptr stops logging (table
  /// stores are never logged: their source topic is their changelog).
  void set_changelog(ChangelogWriter* changelog) { changelog_ = changelog; }

  /// A view by name, read-only for processors. Throws std::out_of_range if unknown.
  ReadableStore& view(std::string_view name);

  /// Applies one restored changelog record (not logged again). A source-offsets record
  /// (kSourceOffsetsKey) goes to the store's metadata, never to its data.
  void apply(std::string_view key, std::optional<std::string_view> value);

  /// Bulk restore, for a large restore: until end_bulk_restore(), `apply` appends the
  /// primary keyspace's records to a RestoreBuffer instead of the cache, and each flush
  /// writes their last values, in key order, as files the persistent store ingests with
  /// the views and the position in one atomic write. The views are still derived per
  /// record, in changelog order (they are small and their derivation reads them). The
  /// primary cache is emptied here and warmed again from the store at the end, when the
  /// restored content is durable; a store restored from nothing instead keeps each
  /// flushed batch in its cache while it fits (warm_up's limit), and ends complete
  /// without reading anything back. Only apply, flush and the metadata may be used
  /// meanwhile (a processor never reads a restoring store); get throws.
  void begin_bulk_restore();
  /// Leaves bulk restore once everything applied is flushed, and warms the cache.
  void end_bulk_restore();
  bool bulk_restoring() const;
  /// flush(position) then end_bulk_restore(), on a thread of their own: sorting the
  /// last batch, writing and ingesting its files and filling the cache take as long as
  /// reading the batch did, and the caller can read other stores' changelogs meanwhile.
  /// Until then every call on this store waits for it.
  void finish_bulk_restore_in_background(Offset position);
  /// Whether nothing runs in the background; rethrows what failed there. Never waits.
  bool settled();

  /// Records opaque `bytes` (the task's input position) in the changelog and, at the
  /// next flush, in the store's metadata: a new owner restoring the changelog, or this
  /// one reopening the store, learns where the inputs it reflects end. Never visible
  /// through get/for_each or the views.
  void record_source_offsets(std::string_view bytes);
  /// What record_source_offsets last recorded (restored or flushed), if anything; empty
  /// once a tombstone of the position (couponflow reset) was restored.
  std::optional<std::string> source_offsets() const;

  /// Writes every change since the last flush, in the store and its views, together
  /// with `position` (the next changelog offset not reflected), in one atomic write.
  void flush(Offset position);
  bool has_unflushed_writes() const;
  /// The position of the last flush (or of the store as opened).
  std::optional<Offset> position() const;

  /// Per-record atomicity (see StoreCache::begin_undo): rollback_record() takes back
  /// every write since begin_record(), in the store and its views.
  void begin_record();
  void commit_record();
  void rollback_record();

  /// Loads the store into the cache when it fits the budget, so that reads, including
  /// reads of absent keys, are served from memory.
  void warm_up();

  /// Every entry of the primary keyspace (view_name empty) or of a view, including
  /// unflushed writes. For tests and tools: it reads the whole keyspace.
  std::map<std::string, std::string> snapshot(std::string_view view_name = {});

  /// The persistent store's size (flushed writes only). Does not wait for background
  /// work: the persistent store answers from any thread.
  StoreSize size() const { return persistent_->size(); }

 private:
  class KeyspaceStore;

  /// Waits for the background work, if any; rethrows what failed there.
  void settle() const;
  // What the public calls of the same names do, without waiting (the background work
  // runs these).
  void flush_now(Offset position);
  void end_bulk_restore_now();
  bool unflushed_writes() const;

  void write(std::string_view key, std::optional<std::string_view> value);
  void write_bulk(std::string_view key, std::optional<std::string_view> value);
  void derive_views(std::string_view key, std::optional<std::string_view> value);
  void warm_up_keyspace(size_t index);
  /// Keeps a flushed bulk batch in the primary cache, or gives up when it does not fit.
  void cache_bulk_batch(const std::vector<RestoreBuffer::Latest>& batch);
  /// A fresh, empty primary cache (incomplete: the store has data it does not hold).
  void reset_primary_cache();

  StoreSpec spec_;
  std::shared_ptr<CacheBudget> cache_budget_;
  std::unique_ptr<PersistentStore> persistent_;
  std::vector<std::unique_ptr<KeyspaceStore>> keyspaces_;  // [0] primary, [i] view i
  ChangelogWriter* changelog_ = nullptr;
  std::optional<Offset> position_;
  std::optional<std::string> pending_source_offsets_;  // recorded or restored, not flushed yet
  std::optional<RestoreBuffer> bulk_;  // set during a bulk restore: the unflushed primary writes
  // During a bulk restore: the primary cache holds every key flushed so far (the store
  // was empty when it began, and every batch fitted in the cache).
  bool bulk_cache_complete_ = false;
  // finish_bulk_restore_in_background's work; the store is its alone until it ends.
  mutable std::future<void> background_;
};

}  // namespace couponflow::state
