// Several tasks' stores opened side by side (processor/store_opener.h): each comes back
// open and warm as one opened alone, and a task that cannot open its stores fails the
// whole call without leaving the others' databases open.

#include <doctest/doctest.h>

#include <fstream>

#include "common/errors.h"
#include "processor/store_opener.h"
#include "state/rocksdb/rocksdb_store.h"
#include "tests/support/temp_dir.h"
#include "topology/coupon/coupon_topology.h"

using namespace couponflow;
using couponflow::testing::TempDir;

namespace {

/// `tasks` tasks whose stores live in dir/0, dir/1, ...
std::vector<processor::TaskEnvironment> environments(state::PersistentStoreFactory& factory,
                                                     const std::filesystem::path& dir, int tasks) {
  std::vector<processor::TaskEnvironment> envs(static_cast<size_t>(tasks));
  for (int t = 0; t < tasks; ++t) {
    envs[static_cast<size_t>(t)].application_id = "opener-test";
    envs[static_cast<size_t>(t)].task_dir = dir / std::to_string(t);
    envs[static_cast<size_t>(t)].store_factory = &factory;
  }
  return envs;
}

}  // namespace

TEST_CASE("stores of many tasks opened side by side are open, warm and in task order") {
  TempDir dir;
  state::RocksDbStoreFactory factory;
  const auto topology = coupon::build_coupon_topology();
  const auto envs = environments(factory, dir.path(), 9);
  // Each task's first store holds one key naming the task, flushed to disk.
  {
    auto stores = processor::open_task_stores(topology, envs);
    REQUIRE(stores.size() == envs.size());
    for (size_t t = 0; t < stores.size(); ++t) {
      REQUIRE(stores[t].size() == topology.stores().size());
      stores[t][0]->put("owner", std::to_string(t));
      stores[t][0]->flush(Offset{1});
    }
  }
  auto stores = processor::open_task_stores(topology, envs, 3);
  REQUIRE(stores.size() == envs.size());
  for (size_t t = 0; t < stores.size(); ++t) {
    CAPTURE(t);
    for (size_t s = 0; s < topology.stores().size(); ++s) CHECK(stores[t][s]->name() == topology.stores()[s].name);
    CHECK(stores[t][0]->position() == Offset{1});
    CHECK(stores[t][0]->get("owner") == std::to_string(t));
  }
}

TEST_CASE("a task whose stores cannot open fails the call, and the others' are closed again") {
  TempDir dir;
  state::RocksDbStoreFactory factory;
  const auto topology = coupon::build_coupon_topology();
  auto envs = environments(factory, dir.path(), 6);
  // Task 4's directory is a regular file: no store can be created under it.
  std::ofstream(dir.path() / "4") << "not a directory";
  CHECK_THROWS_AS(processor::open_task_stores(topology, envs, 4), FatalError);
  // Nothing is left open: every other task's stores open again (RocksDB refuses a
  // database another handle in this process still holds).
  envs.erase(envs.begin() + 4);
  CHECK(processor::open_task_stores(topology, envs, 4).size() == 5);
}
