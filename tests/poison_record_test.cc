// A record whose processing throws: retried with each try atomic, then dead-lettered.

#include <doctest/doctest.h>

#include <map>

#include "common/errors.h"
#include "state/store_cache.h"
#include "processor/testing/topology_test_driver.h"
#include "tests/support/temp_dir.h"
#include "topology/topology.h"

using namespace couponflow;
using namespace couponflow::topology;

namespace {

/// Writes its input to a store and forwards it, then throws for "poison" (always) and
/// for "flaky" (the first two tries), after having written and forwarded.
class Fragile final : public Processor {
 public:
  explicit Fragile(std::map<std::string, int>& tries) : tries_(tries) {}
  void init(ProcessorContext& context) override {
    context_ = &context;
    store_ = &context.store("s");
    out_ = context.child("out");
  }
  void process(const Record& record) override {
    const std::string value(record.value.value_or(""));
    const int attempt = ++tries_[value];
    store_->put(value, "written");
    context_->forward(out_, Message{record.key, value, record.timestamp, {}});
    if (value == "poison") throw std::runtime_error("cannot digest poison");
    if (value == "flaky" && attempt <= 2) throw std::runtime_error("flaky, try " + std::to_string(attempt));
  }

 private:
  std::map<std::string, int>& tries_;
  ProcessorContext* context_ = nullptr;
  state::KeyValueStore* store_ = nullptr;
  ChildRef out_;
};

Topology fragile_topology(std::map<std::string, int>& tries, bool with_dead_letters) {
  TopologyBuilder b;
  b.stream("in", "in").store(state::StoreSpec{"s", {}, std::nullopt});
  b.processor("p", [&tries] { return std::make_unique<Fragile>(tries); }, {"in"}, {"s"});
  b.sink("out", "out", {"p"});
  if (with_dead_letters) b.dead_letters("dlq");
  return std::move(b).build();
}

processor::testing::TopologyTestDriver::Options options(const std::filesystem::path& dir) {
  processor::testing::TopologyTestDriver::Options o;
  o.state_dir = dir;
  return o;
}

}  // namespace

TEST_CASE("a record that always throws is tried three times, leaves no trace, and is dead-lettered") {
  couponflow::testing::TempDir dir;
  std::map<std::string, int> tries;
  const auto topology = fragile_topology(tries, true);
  processor::testing::TopologyTestDriver driver(topology, options(dir.path()));
  driver.pipe("in", "k", "before", 1);
  driver.pipe("in", "k", "poison", 2);
  driver.pipe("in", "k", "after", 3);

  CHECK(tries["poison"] == 3);
  const auto out = driver.read_output("out");
  REQUIRE(out.size() == 2);  // nothing of the poison's tries was sent
  CHECK(out[0].value == "before");
  CHECK(out[1].value == "after");
  const auto dlq = driver.read_output("dlq");
  REQUIRE(dlq.size() == 1);
  CHECK(dlq[0].value == "poison");
  CHECK(dlq[0].key == "k");
  CHECK(dlq[0].header("dlq.reason") == "PROCESSING_ERROR");
  CHECK(dlq[0].header("dlq.error") == "cannot digest poison");
  CHECK(dlq[0].header("dlq.source.offset") == "1");
  // The store and its changelog hold the good records only.
  auto content = driver.store(Partition{0}, "s").snapshot();
  CHECK(content.count("poison") == 0);
  CHECK(content.count("before") == 1);
  CHECK(content.count("after") == 1);
  for (const auto& r : driver.log("test-app-s-changelog", Partition{0})) CHECK(r.key != "poison");
  CHECK(driver.task(Partition{0}).stats().dead_lettered == 1);
}

TEST_CASE("a record that fails twice then succeeds is processed once, as if it never failed") {
  couponflow::testing::TempDir dir;
  std::map<std::string, int> tries;
  const auto topology = fragile_topology(tries, true);
  processor::testing::TopologyTestDriver driver(topology, options(dir.path()));
  driver.pipe("in", "k", "flaky", 1);
  CHECK(tries["flaky"] == 3);
  const auto out = driver.read_output("out");
  REQUIRE(out.size() == 1);
  CHECK(out[0].value == "flaky");
  CHECK(driver.read_output("dlq").empty());
  CHECK(driver.log("test-app-s-changelog", Partition{0}).size() == 1);
}

TEST_CASE("without a dead letter topic, a record that keeps throwing stops the task") {
  couponflow::testing::TempDir dir;
  std::map<std::string, int> tries;
  const auto topology = fragile_topology(tries, false);
  processor::testing::TopologyTestDriver driver(topology, options(dir.path()));
  CHECK_THROWS_AS(driver.pipe("in", "k", "poison", 1), FatalError);
  CHECK(tries["poison"] == 3);
}

TEST_CASE("undoing a record restores the cache exactly, dirty entries included") {
  state::StoreCache cache(1 << 20);
  cache.write("kept", "v1");        // dirty before the scope
  cache.insert_clean("clean", "c");  // clean before the scope
  cache.begin_undo();
  cache.write("kept", "v2");
  cache.write("clean", "changed");
  cache.write("new", "n");
  cache.write("new", std::nullopt);
  cache.undo();
  REQUIRE(cache.find("kept") != nullptr);
  CHECK(cache.find("kept")->value == "v1");
  CHECK(cache.find("kept")->dirty);
  CHECK(cache.find("clean")->value == "c");
  CHECK_FALSE(cache.find("clean")->dirty);
  CHECK(cache.find("new") == nullptr);
  CHECK(cache.dirty_count() == 1);
}
