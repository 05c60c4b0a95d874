// Logs that lost data under the processor must stop it loudly, never be skipped: the
// embedded broker drops the oldest records beyond ~5 MB per partition, which is how
// these tests truncate a log.

#include <doctest/doctest.h>

#include "state/rocksdb/rocksdb_store.h"
#include "tests/support/embedded_cluster.h"

using namespace couponflow;
using namespace couponflow::testing;

namespace {

/// Pushes ~6 MB into one partition so the embedded broker drops its oldest records.
void overflow_partition(EmbeddedCluster& cluster, const std::string& topic, Partition p) {
  const std::string big(100 * 1024, 'x');
  for (int i = 0; i < 60; ++i) {
    cluster.producer().send(topic, p, Message{std::string("junk"), big, EmbeddedCluster::now(), {}});
  }
  cluster.flush();
  kafka::KafkaConsumer reader(cluster.client(), "truncation-test", nullptr);
  REQUIRE(reader.query_watermarks({topic, p}, 5000).low.value > 0);
}

/// Runs an instance until it stops by itself; returns its error.
std::string run_until_failure(EmbeddedCluster& cluster, const std::filesystem::path& state) {
  auto instance = cluster.start(state, "p1");
  for (int i = 0; i < 300 && !instance->done(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  REQUIRE_MESSAGE(instance->done(), "the instance kept running on a truncated log");
  return instance->error();
}

}  // namespace

TEST_CASE("restoring from scratch refuses a changelog that no longer starts at offset 0") {
  EmbeddedCluster cluster(1);
  TempDir state;
  overflow_partition(cluster, "coupon-processor-issued-changelog", Partition{0});
  const std::string error = run_until_failure(cluster, state.path());
  CHECK(error.find("cannot restore store issued") != std::string::npos);
  CHECK(error.find("now starts at") != std::string::npos);
}

TEST_CASE("input truncated past the committed offset is a fatal error, not a skip") {
  EmbeddedCluster cluster(1);
  TempDir state;
  cluster.define("c", 10);
  {
    auto instance = cluster.start(state.path(), "p1");
    EmbeddedCluster::wait_until_running({instance.get()}, 1);
    cluster.request("r1", "c", "u1");
    cluster.flush();
    cluster.wait_for_answers(1);
    instance->stop();
  }
  // Records the processor never read are deleted: committed offset 1 is now below the log start.
  overflow_partition(cluster, "coupon-issuance", Partition{0});
  const std::string error = run_until_failure(cluster, state.path());
  CHECK(error.find("offset out of range") != std::string::npos);
}

TEST_CASE("local state ahead of its changelog (the topic was recreated) stops the instance") {
  TempDir state;
  {
    EmbeddedCluster first(1);
    first.define("c", 10);
    auto instance = first.start(state.path(), "p1");
    EmbeddedCluster::wait_until_running({instance.get()}, 1);
    for (int i = 0; i < 5; ++i) first.request(fmt::format("r{}", i), "c", fmt::format("u{}", i));
    first.flush();
    first.wait_for_answers(5);
    instance->stop();
  }
  EmbeddedCluster second(1);  // a new, empty cluster: the same state directory no longer matches it
  const std::string error = run_until_failure(second, state.path());
  CHECK(error.find("the changelog was deleted or recreated") != std::string::npos);
}

TEST_CASE("a table store ahead of its committed offset is rebuilt from its topic") {
  EmbeddedCluster cluster(1);
  TempDir state;
  cluster.define("c", 1);
  cluster.define("d", 5);
  {
    auto instance = cluster.start(state.path(), "p1");
    EmbeddedCluster::wait_until_running({instance.get()}, 1);
    cluster.request("r1", "c", "u1");
    cluster.flush();
    cluster.wait_for_answers(1);
    instance->stop();  // the catalog table is checkpointed at offset 2
  }
  {
    // Move the table's checkpoint past the committed catalog offset (2), as a commit
    // that failed after its checkpoint would.
    state::RocksDbStoreFactory factory;
    const auto spec = *cluster.topology().find_store("catalog");
    auto store = factory.open(state.path() / "coupon-processor" / "0_0" / "catalog", spec);
    REQUIRE(store->position() == Offset{2});
    auto writes = store->new_write_set();
    store->write(*writes, Offset{7});
  }
  auto instance = cluster.start(state.path(), "p1");
  EmbeddedCluster::wait_until_running({instance.get()}, 1);
  cluster.request("r2", "c", "u2");
  cluster.request("r3", "d", "u2");
  cluster.flush();
  cluster.wait_until_all_answered();
  CHECK_FALSE(instance->done());
  std::map<std::string, coupon::CouponResult> by_id;
  for (const auto& r : cluster.results()) by_id[r.request_id] = r;
  CHECK(by_id.at("r2").reason == "SOLD_OUT");  // the rebuilt table still knows both coupons
  CHECK(by_id.at("r3").issue_no == 1);
}
