#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <thread>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "state/materialized_store.h"
#include "state/rocksdb/rocksdb_store.h"
#include "state/state_directory.h"
#include "common/errors.h"
#include <fmt/format.h>
#include "tests/support/temp_dir.h"

using namespace couponflow;
using namespace couponflow::state;

namespace {

/// Records every changelog append.
struct RecordingChangelog final : ChangelogWriter {
  std::vector<std::pair<std::string, std::optional<std::string>>> records;
  void append(std::string_view key, std::optional<std::string_view> value) override {
    records.emplace_back(std::string(key), value ? std::optional<std::string>(*value) : std::nullopt);
  }
};

/// A view counting the entries of the primary keyspace by the first byte of their key.
StoreSpec spec_with_count_view() {
  ViewSpec by_first_byte{"by-first-byte",
                         [](std::string_view key, std::optional<std::string_view> value, KeyValueStore& view) {
                           // Only insertions are derived in this test view.
                           if (!value) return;
                           auto current = view.get(key.substr(0, 1));
                           const int n = current ? std::stoi(std::string(*current)) : 0;
                           view.put(key.substr(0, 1), std::to_string(n + 1));
                         }};
  return StoreSpec{"s", {by_first_byte}, std::nullopt};
}

/// Forwards to a real persistent store, counting the reads that reach it.
struct CountingStore final : PersistentStore {
  explicit CountingStore(std::unique_ptr<PersistentStore> inner) : inner(std::move(inner)) {}
  std::optional<std::string> get(Keyspace ks, std::string_view key) override {
    ++gets;
    return inner->get(ks, key);
  }
  std::unique_ptr<WriteSet> new_write_set() override { return inner->new_write_set(); }
  void write(WriteSet& w, Offset p) override { inner->write(w, p); }
  std::optional<Offset> position() const override { return inner->position(); }
  std::optional<std::string> get_meta(std::string_view key) override { return inner->get_meta(key); }
  void for_each(Keyspace ks, const std::function<bool(std::string_view, std::string_view)>& fn) override {
    inner->for_each(ks, fn);
  }
  StoreSize size() const override { return inner->size(); }
  std::unique_ptr<PersistentStore> inner;
  int gets = 0;
};

}  // namespace

TEST_CASE("a materialized store behaves like a std::map through random writes, flushes and reopens") {
  couponflow::testing::TempDir dir;
  RocksDbStoreFactory factory;
  StoreSpec spec{"random", {}, std::nullopt};
  std::map<std::string, std::string> model;
  std::mt19937 rng(7);
  // A small cache budget forces evictions, so reads also exercise the RocksDB path.
  const size_t cache_bytes = 4096;
  auto open = [&] {
    auto s = std::make_unique<MaterializedStore>(spec, factory.open(dir.path() / "random", spec), cache_bytes);
    s->warm_up();
    return s;
  };
  auto store = open();
  // for_each sees what get sees: flushed entries, unflushed writes and deletes.
  auto scan = [&] {
    std::map<std::string, std::string> seen;
    store->for_each([&](std::string_view k, std::string_view v) {
      CHECK(seen.emplace(k, v).second);  // each key once
      return true;
    });
    return seen;
  };
  int64_t position = 0;
  for (int step = 0; step < 20000; ++step) {
    const std::string key = "k" + std::to_string(rng() % 300);
    switch (rng() % 10) {
      case 0: case 1: case 2: case 3: {
        const std::string value = "v" + std::to_string(rng());
        store->put(key, value);
        model[key] = value;
        break;
      }
      case 4:
        store->remove(key);
        model.erase(key);
        break;
      case 5:
        store->flush(Offset{++position});
        break;
      case 6:
        if (rng() % 50 == 0) {
          store->flush(Offset{++position});
          store.reset();
          store = open();
          REQUIRE(store->position() == Offset{position});
        }
        break;
      default: {
        if (rng() % 200 == 0) REQUIRE(scan() == model);
        auto got = store->get(key);
        auto it = model.find(key);
        if (it == model.end()) {
          REQUIRE_FALSE(got.has_value());
        } else {
          REQUIRE(got.has_value());
          REQUIRE(*got == it->second);
        }
      }
    }
  }
  CHECK(store->snapshot() == model);
  CHECK(scan() == model);
}

TEST_CASE("unflushed writes are lost on reopen and the position rolls back with them") {
  couponflow::testing::TempDir dir;
  RocksDbStoreFactory factory;
  StoreSpec spec{"s", {}, std::nullopt};
  {
    MaterializedStore s(spec, factory.open(dir.path() / "s", spec), 1 << 20);
    s.warm_up();
    s.put("a", "1");
    s.flush(Offset{10});
    s.put("b", "2");  // never flushed: a crash loses it
  }
  MaterializedStore s(spec, factory.open(dir.path() / "s", spec), 1 << 20);
  s.warm_up();
  CHECK(s.position() == Offset{10});
  CHECK(s.get("a") == std::optional<std::string_view>("1"));
  CHECK_FALSE(s.get("b").has_value());
}

TEST_CASE("writes are appended to the changelog in order, restored applies are not") {
  couponflow::testing::TempDir dir;
  RocksDbStoreFactory factory;
  StoreSpec spec{"s", {}, std::nullopt};
  MaterializedStore s(spec, factory.open(dir.path() / "s", spec), 1 << 20);
  s.warm_up();
  RecordingChangelog log;
  s.apply("restored", "x");
  s.set_changelog(&log);
  s.put("a", "1");
  s.remove("a");
  s.put("b", "2");
  REQUIRE(log.records.size() == 3);
  CHECK(log.records[0] == std::pair<std::string, std::optional<std::string>>{"a", "1"});
  CHECK(log.records[1] == std::pair<std::string, std::optional<std::string>>{"a", std::nullopt});
  CHECK(log.records[2] == std::pair<std::string, std::optional<std::string>>{"b", "2"});
}

TEST_CASE("a view follows every write and survives a reopen in step with its store") {
  couponflow::testing::TempDir dir;
  RocksDbStoreFactory factory;
  const StoreSpec spec = spec_with_count_view();
  {
    MaterializedStore s(spec, factory.open(dir.path() / "s", spec), 1 << 20);
    s.warm_up();
    s.put("apple", "1");
    s.put("avocado", "1");
    s.put("banana", "1");
    CHECK(s.view("by-first-byte").get("a") == std::optional<std::string_view>("2"));
    s.flush(Offset{3});
    s.put("apricot", "1");  // lost with the crash, in the view as in the store
  }
  MaterializedStore s(spec, factory.open(dir.path() / "s", spec), 1 << 20);
  s.warm_up();
  CHECK(s.view("by-first-byte").get("a") == std::optional<std::string_view>("2"));
  CHECK(s.view("by-first-byte").get("b") == std::optional<std::string_view>("1"));
  CHECK_FALSE(s.get("apricot").has_value());
  CHECK_THROWS_AS(s.view("nope"), std::out_of_range);
}

TEST_CASE("a store that fits its cache answers reads, even of absent keys, from memory") {
  couponflow::testing::TempDir dir;
  RocksDbStoreFactory factory;
  StoreSpec spec{"s", {}, std::nullopt};
  {
    MaterializedStore s(spec, factory.open(dir.path() / "s", spec), 1 << 20);
    s.warm_up();
    for (int i = 0; i < 100; ++i) s.put("k" + std::to_string(i), "v");
    s.flush(Offset{100});
  }
  auto counting = std::make_unique<CountingStore>(factory.open(dir.path() / "s", spec));
  CountingStore* reads = counting.get();
  MaterializedStore complete(spec, std::move(counting), 1 << 20);
  complete.warm_up();
  CHECK(complete.get("k5").has_value());
  CHECK_FALSE(complete.get("absent").has_value());
  CHECK_FALSE(complete.get("k100").has_value());
  CHECK(reads->gets == 0);
}

TEST_CASE("a store too large for its cache reads misses from disk") {
  couponflow::testing::TempDir dir;
  RocksDbStoreFactory factory;
  StoreSpec spec{"s", {}, std::nullopt};
  {
    MaterializedStore s(spec, factory.open(dir.path() / "s", spec), 1 << 20);
    s.warm_up();
    for (int i = 0; i < 1000; ++i) s.put("k" + std::to_string(i), std::string(100, 'x'));
    s.flush(Offset{1000});
  }
  auto counting = std::make_unique<CountingStore>(factory.open(dir.path() / "s", spec));
  CountingStore* reads = counting.get();
  MaterializedStore small(spec, std::move(counting), 8 * 1024);
  small.warm_up();
  for (int i = 0; i < 1000; i += 37) CHECK(small.get("k" + std::to_string(i)).has_value());
  CHECK_FALSE(small.get("k1000").has_value());
  CHECK(reads->gets > 0);
}

TEST_CASE("a state directory cannot be opened by two owners at once") {
  couponflow::testing::TempDir dir;
  StateDirectory first(dir.path(), "app");
  // flock is per open file description, so a second open in the same process conflicts too.
  CHECK_THROWS_AS(StateDirectory(dir.path(), "app"), FatalError);
  CHECK(first.task_dir(TaskId{Partition{3}}) == dir.path() / "app" / "0_3");
}

TEST_CASE("a flush large enough to be ingested as SST files keeps data, deletes, views and position together") {
  couponflow::testing::TempDir dir;
  RocksDbStoreFactory factory;
  const StoreSpec spec = spec_with_count_view();
  std::map<std::string, std::string> model;
  {
    MaterializedStore s(spec, factory.open(dir.path() / "s", spec), 64u << 20);
    s.warm_up();
    for (int i = 0; i < 30'000; ++i) {  // above the ingestion threshold, keys in no order
      const std::string key = fmt::format("{}{:06}", static_cast<char>('a' + i % 3), (i * 7919) % 30'000);
      s.put(key, std::to_string(i));
      model[key] = std::to_string(i);
    }
    s.flush(Offset{30'000});
    for (int i = 0; i < 25'000; ++i) {  // a second large flush with deletes over the first
      const std::string key = fmt::format("{}{:06}", static_cast<char>('a' + i % 3), (i * 7919) % 30'000);
      if (i % 2) {
        s.remove(key);
        model.erase(key);
      } else {
        s.put(key, "again");
        model[key] = "again";
      }
    }
    s.flush(Offset{55'000});
  }
  MaterializedStore s(spec, factory.open(dir.path() / "s", spec), 64u << 20);
  s.warm_up();
  CHECK(s.position() == Offset{55'000});
  CHECK(s.snapshot() == model);
  // The view saw every insertion (the test view counts puts by first letter).
  CHECK(s.view("by-first-byte").get("a").has_value());
}

TEST_CASE("a recorded input position reaches the changelog and the store's metadata, never its data") {
  couponflow::testing::TempDir dir;
  RocksDbStoreFactory factory;
  const StoreSpec spec = spec_with_count_view();
  auto open = [&] { return std::make_unique<MaterializedStore>(spec, factory.open(dir.path() / "s", spec), 1 << 20); };
  auto store = open();
  RecordingChangelog changelog;
  store->set_changelog(&changelog);
  store->put("a1", "x");
  store->record_source_offsets("position-1");
  REQUIRE(changelog.records.size() == 2);
  CHECK(changelog.records[1].first == kSourceOffsetsKey);
  CHECK(changelog.records[1].second == "position-1");
  CHECK(store->source_offsets() == "position-1");
  CHECK_FALSE(store->get(kSourceOffsetsKey));
  CHECK(store->snapshot() == std::map<std::string, std::string>{{"a1", "x"}});
  CHECK(store->snapshot("by-first-byte") == std::map<std::string, std::string>{{"a", "1"}});
  store->flush(Offset{2});
  store.reset();

  store = open();
  CHECK(store->source_offsets() == "position-1");  // kept with the data it describes
  // Restored from a changelog: a newer position goes to the metadata too, not the data.
  store->apply(kSourceOffsetsKey, "position-2");
  store->apply("b1", "y");
  CHECK(store->source_offsets() == "position-2");
  CHECK(store->snapshot() == std::map<std::string, std::string>{{"a1", "x"}, {"b1", "y"}});
  store->flush(Offset{4});
  store.reset();
  store = open();
  CHECK(store->source_offsets() == "position-2");

  // A flush large enough to be ingested as SST files keeps it as well.
  for (int i = 0; i < 25'000; ++i) store->apply(fmt::format("k{:06}", i), "v");
  store->apply(kSourceOffsetsKey, "position-3");
  store->flush(Offset{25'010});
  store.reset();
  store = open();
  CHECK(store->source_offsets() == "position-3");
  CHECK(store->position() == Offset{25'010});
}

TEST_CASE("a store cache agrees with a map through writes, undos, flushes and evictions") {
  // The cache's own index (open addressing, backward-shift deletion, node reuse) is
  // checked against std::map: thousands of short keys force growth and long probe runs;
  // undo erases keys first written in its scope; a small budget makes flushes evict.
  std::mt19937_64 rng(7);
  auto budget = std::make_shared<CacheBudget>(64 << 10);
  StoreCache cache(budget);
  std::map<std::string, std::optional<std::string>> model;  // what the cache should know
  std::map<std::string, std::optional<std::string>> dirty;  // written since the last flush
  auto key = [&] { return fmt::format("k{}", rng() % 3000); };
  cache.prefetch("k1");  // a hint only, even with no index yet
  auto check_all = [&] {
    REQUIRE(cache.size() == model.size());
    for (const auto& [k, v] : model) {
      const StoreCache::Entry* e = cache.find(k);
      REQUIRE(e != nullptr);
      CHECK(e->present == v.has_value());
      if (v) CHECK(e->value == *v);
    }
    std::map<std::string, std::optional<std::string>> seen;
    cache.for_each_dirty([&](std::string_view k, const StoreCache::Entry& e) {
      seen.emplace(std::string(k), e.present ? std::optional<std::string>(e.value) : std::nullopt);
    });
    CHECK(seen == dirty);
  };
  for (int round = 0; round < 40; ++round) {
    for (int op = 0; op < 500; ++op) {
      const std::string k = key();
      const auto value = rng() % 5 == 0 ? std::nullopt : std::optional<std::string>(fmt::format("v{}", rng() % 1000));
      switch (rng() % 4) {
        case 0: {
          cache.prefetch(k);
          const StoreCache::Entry* e = cache.find(k);
          CHECK((e != nullptr) == model.contains(k));
          break;
        }
        case 1:
          if (!model.contains(k)) {
            cache.insert_clean(k, value);
            model[k] = value;
          }
          break;
        case 2:
          cache.write(k, value);
          model[k] = value;
          dirty[k] = value;
          break;
        case 3: {
          // One record's scope: a few writes, then kept or taken back.
          const auto model_before = model;
          const auto dirty_before = dirty;
          cache.begin_undo();
          for (int w = 0; w < 3; ++w) {
            const std::string wk = key();
            cache.write(wk, value);
            model[wk] = value;
            dirty[wk] = value;
          }
          if (rng() % 2 == 0) {
            cache.undo();
            model = model_before;
            dirty = dirty_before;
          } else {
            cache.end_undo();
          }
          break;
        }
      }
    }
    check_all();
    cache.flushed();
    dirty.clear();
    // Evicted keys are forgotten (and the cache says it is no longer complete).
    for (auto it = model.begin(); it != model.end();) {
      it = cache.find(it->first) == nullptr ? model.erase(it) : std::next(it);
    }
    check_all();
    CHECK(budget->used_bytes() == cache.bytes());
  }
  CHECK(!cache.complete());
}

namespace {

/// Counts puts and deletes reaching the view, by first byte of the key: a delete counts
/// only if the key was there, so the view checks the restore's existence answers.
StoreSpec spec_with_put_and_delete_counts() {
  ViewSpec counts{"counts", [](std::string_view key, std::optional<std::string_view> value, KeyValueStore& view) {
                    const std::string counter = (value ? "put:" : "delete:") + std::string(key.substr(0, 1));
                    auto current = view.get(counter);
                    view.put(counter, std::to_string((current ? std::stoi(std::string(*current)) : 0) + 1));
                  }};
  return StoreSpec{"s", {counts}, std::nullopt};
}

/// A changelog of puts, overwrites, tombstones (of keys present, deleted, never written)
/// and recorded input positions.
std::vector<std::pair<std::string, std::optional<std::string>>> random_changelog(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::pair<std::string, std::optional<std::string>>> log;
  for (size_t i = 0; i < n; ++i) {
    const std::string key = fmt::format("{}user-{}", static_cast<char>('a' + rng() % 4), rng() % 3000);
    const uint32_t kind = rng() % 10;
    if (kind == 0) {
      log.emplace_back(key, std::nullopt);
    } else if (kind == 1 && i % 7 == 0) {
      log.emplace_back(std::string(kSourceOffsetsKey), fmt::format("offsets-{}", i));
    } else {
      log.emplace_back(key, fmt::format("v{}", i));
    }
  }
  return log;
}

}  // namespace

TEST_CASE("a bulk restore equals a record-by-record restore: last value per key, views, position, and a warm cache") {
  couponflow::testing::TempDir dir;
  RocksDbStoreFactory factory;
  const StoreSpec spec = spec_with_put_and_delete_counts();
  const auto log = random_changelog(60'000, 7);
  std::map<std::string, std::string> last;  // the changelog's last value per key
  for (const auto& [key, value] : log) {
    if (key == kSourceOffsetsKey) continue;
    if (value) {
      last[key] = *value;
    } else {
      last.erase(key);
    }
  }
  // Both restore the same changelog in batches of 25,000, as Task::restore flushes.
  auto restore = [&](const std::string& name, bool bulk) {
    auto store = std::make_unique<MaterializedStore>(spec, factory.open(dir.path() / name, spec), 64u << 20);
    store->warm_up();
    if (bulk) store->begin_bulk_restore();
    for (size_t i = 0; i < log.size(); ++i) {
      store->apply(log[i].first, log[i].second);
      if ((i + 1) % 25'000 == 0) store->flush(Offset{static_cast<int64_t>(i + 1)});
    }
    store->flush(Offset{static_cast<int64_t>(log.size())});
    store->end_bulk_restore();
    return store;
  };
  auto by_record = restore("by-record", false);
  auto bulk = restore("bulk", true);
  CHECK(bulk->snapshot() == last);
  CHECK(by_record->snapshot() == last);
  CHECK(bulk->snapshot("counts") == by_record->snapshot("counts"));
  CHECK(bulk->source_offsets() == by_record->source_offsets());
  CHECK(bulk->position() == Offset{60'000});
  // The cache ends complete and right: every key, and absent ones, answered.
  for (const auto& [key, value] : last) REQUIRE(bulk->get(key) == std::optional<std::string_view>(value));
  CHECK_FALSE(bulk->get("never-written"));
  CHECK_FALSE(bulk->get("auser-0-deleted"));
  // And it reopens to the same.
  bulk.reset();
  auto reopened = std::make_unique<MaterializedStore>(spec, factory.open(dir.path() / "bulk", spec), 64u << 20);
  reopened->warm_up();
  CHECK(reopened->snapshot() == last);
  CHECK(reopened->snapshot("counts") == by_record->snapshot("counts"));
  CHECK(reopened->position() == Offset{60'000});
}

TEST_CASE("a bulk restore interrupted after a flush resumes from its position to the same state") {
  couponflow::testing::TempDir dir;
  RocksDbStoreFactory factory;
  const StoreSpec spec = spec_with_put_and_delete_counts();
  const auto log = random_changelog(50'000, 11);
  auto open = [&](const std::string& name) {
    auto store = std::make_unique<MaterializedStore>(spec, factory.open(dir.path() / name, spec), 64u << 20);
    store->warm_up();
    return store;
  };
  auto apply_range = [&](MaterializedStore& store, size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) store.apply(log[i].first, log[i].second);
  };
  auto whole = open("whole");
  whole->begin_bulk_restore();
  apply_range(*whole, 0, log.size());
  whole->flush(Offset{50'000});
  whole->end_bulk_restore();
  {
    // Flushed at 20,000; 15,000 more applied, never flushed: the process dies.
    auto store = open("interrupted");
    store->begin_bulk_restore();
    apply_range(*store, 0, 20'000);
    store->flush(Offset{20'000});
    apply_range(*store, 20'000, 35'000);
  }
  auto resumed = open("interrupted");
  REQUIRE(resumed->position() == Offset{20'000});
  resumed->begin_bulk_restore();  // not empty: its cache is warmed from disk at the end
  apply_range(*resumed, 20'000, log.size());
  resumed->flush(Offset{50'000});
  resumed->end_bulk_restore();
  CHECK(resumed->snapshot() == whole->snapshot());
  CHECK(resumed->snapshot("counts") == whole->snapshot("counts"));
  CHECK(resumed->source_offsets() == whole->source_offsets());
  for (const auto& [key, value] : whole->snapshot()) REQUIRE(resumed->get(key) == std::optional<std::string_view>(value));
  CHECK_FALSE(resumed->get("never-written"));
}

TEST_CASE("a store restoring in bulk refuses reads: its content is in no cache until the restore ends") {
  couponflow::testing::TempDir dir;
  RocksDbStoreFactory factory;
  const StoreSpec spec = spec_with_put_and_delete_counts();
  MaterializedStore s(spec, factory.open(dir.path() / "s", spec), 1 << 20);
  s.warm_up();
  s.begin_bulk_restore();
  s.apply("a1", "x");
  CHECK_THROWS_AS(s.get("a1"), std::logic_error);
  s.prefetch("a1");  // only a hint: neither refused nor answered
  CHECK_THROWS_AS(s.end_bulk_restore(), std::logic_error);  // not flushed yet
  s.flush(Offset{1});
  s.end_bulk_restore();
  CHECK(s.get("a1") == std::optional<std::string_view>("x"));
}

namespace {

/// Forwards to a real persistent store; a write says it began, then waits for `gate`
/// (and fails if `fail` is set), so a test holds a background write where it wants it.
struct GatedStore final : PersistentStore {
  GatedStore(std::unique_ptr<PersistentStore> inner, std::shared_future<void> gate, bool fail)
      : inner(std::move(inner)), gate(std::move(gate)), fail(fail) {}
  std::optional<std::string> get(Keyspace ks, std::string_view key) override { return inner->get(ks, key); }
  std::unique_ptr<WriteSet> new_write_set() override { return inner->new_write_set(); }
  void write(WriteSet& w, Offset p) override {
    began.set_value();
    gate.wait();
    if (fail) throw FatalError("disk full (test)");
    inner->write(w, p);
  }
  std::optional<Offset> position() const override { return inner->position(); }
  std::optional<std::string> get_meta(std::string_view key) override { return inner->get_meta(key); }
  void for_each(Keyspace ks, const std::function<bool(std::string_view, std::string_view)>& fn) override {
    inner->for_each(ks, fn);
  }
  StoreSize size() const override { return inner->size(); }
  std::unique_ptr<PersistentStore> inner;
  std::shared_future<void> gate;
  bool fail;
  std::promise<void> began;
};

using Changelog = std::vector<std::pair<std::string, std::optional<std::string>>>;

/// A store restored in bulk from `log`, whose finish_bulk_restore_in_background is under
/// way and held inside its write (the background thread is there when this returns)
/// until release().
struct HeldBulkRestore {
  HeldBulkRestore(RocksDbStoreFactory& factory, const std::filesystem::path& dir, const StoreSpec& spec,
                  const Changelog& log, bool fail) {
    auto gated = std::make_unique<GatedStore>(factory.open(dir, spec), gate.get_future().share(), fail);
    std::future<void> began = gated->began.get_future();
    store = std::make_unique<MaterializedStore>(spec, std::move(gated), 64u << 20);
    store->warm_up();
    store->begin_bulk_restore();
    for (const auto& [key, value] : log) store->apply(key, value);
    store->finish_bulk_restore_in_background(Offset{static_cast<int64_t>(log.size())});
    began.wait();
  }
  void release() { gate.set_value(); }

  std::promise<void> gate;
  std::unique_ptr<MaterializedStore> store;
};

}  // namespace

TEST_CASE("a bulk restore finished in the background is the store's only business until it ends") {
  couponflow::testing::TempDir dir;
  RocksDbStoreFactory factory;
  const StoreSpec spec = spec_with_put_and_delete_counts();
  const auto log = random_changelog(30'000, 5);
  // The same changelog restored in place, for comparison.
  MaterializedStore in_place(spec, factory.open(dir.path() / "in-place", spec), 64u << 20);
  in_place.warm_up();
  in_place.begin_bulk_restore();
  for (const auto& [key, value] : log) in_place.apply(key, value);
  in_place.flush(Offset{30'000});
  in_place.end_bulk_restore();

  HeldBulkRestore held(factory, dir.path() / "background", spec, log, false);
  MaterializedStore& store = *held.store;
  CHECK_FALSE(store.settled());
  CHECK_FALSE(store.settled());  // asking never waits, and changes nothing
  store.prefetch("auser-1");     // a hint neither waits nor touches the cache being filled
  CHECK_FALSE(store.settled());
  held.release();
  CHECK(store.position() == Offset{30'000});  // waits for the background work
  CHECK(store.settled());
  CHECK_FALSE(store.bulk_restoring());
  CHECK(store.snapshot() == in_place.snapshot());
  CHECK(store.snapshot("counts") == in_place.snapshot("counts"));
  CHECK(store.source_offsets() == in_place.source_offsets());
  for (const auto& [key, value] : in_place.snapshot()) REQUIRE(store.get(key) == std::optional<std::string_view>(value));
  CHECK_FALSE(store.get("never-written"));
}

TEST_CASE("a bulk restore that fails in the background fails the store's next call") {
  couponflow::testing::TempDir dir;
  RocksDbStoreFactory factory;
  const StoreSpec spec = spec_with_put_and_delete_counts();
  HeldBulkRestore held(factory, dir.path() / "s", spec, {{"a1", "x"}}, true);
  MaterializedStore& store = *held.store;
  CHECK_FALSE(store.settled());
  held.release();
  CHECK_THROWS_AS(store.position(), FatalError);  // waits, then the background's error
  CHECK(store.settled());                         // told once: nothing runs any more
  CHECK(store.position() == std::nullopt);        // nothing was written
}

TEST_CASE("a store closed while its restore finishes in the background waits for it") {
  couponflow::testing::TempDir dir;
  RocksDbStoreFactory factory;
  const StoreSpec spec = spec_with_put_and_delete_counts();
  {
    HeldBulkRestore held(factory, dir.path() / "s", spec, {{"a1", "x"}}, false);
    std::promise<void> closing;
    // Releases the write once the store is being closed (a moment later: the
    // destructor cannot say when it starts waiting).
    std::jthread releaser([&, closing = closing.get_future()] {
      closing.wait();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      held.release();
    });
    closing.set_value();
    held.store.reset();  // waits for the write still held at the gate: it is on disk
  }
  MaterializedStore reopened(spec, factory.open(dir.path() / "s", spec), 1 << 20);
  reopened.warm_up();
  CHECK(reopened.position() == Offset{1});
  CHECK(reopened.get("a1") == std::optional<std::string_view>("x"));
}
