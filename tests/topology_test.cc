#include <doctest/doctest.h>

#include <stdexcept>

#include "topology/coupon/coupon_topology.h"
#include "topology/topology.h"

using namespace couponflow;
using namespace couponflow::topology;

namespace {
class Noop final : public Processor {
 public:
  void init(ProcessorContext&) override {}
  void process(const Record&) override {}
};
ProcessorFactory noop() { return [] { return std::make_unique<Noop>(); }; }

std::string build_error(TopologyBuilder b) {
  try {
    std::move(b).build();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("the coupon topology validates and lists every topic it touches") {
  Topology t = coupon::build_coupon_topology();
  CHECK(t.primary_source().topic == "coupon-issuance");
  auto topics = t.topics("coupon-processor");
  for (const char* expected : {"coupon-issuance", "coupon-catalog", "coupon-issued", "coupon-rejected",
                               "coupon-issuance-dlq", "coupon-processor-issued-changelog"}) {
    CHECK(std::find(topics.begin(), topics.end(), expected) != topics.end());
  }
  // The catalog store's changelog is its source topic, not a topic of its own.
  CHECK(std::find(topics.begin(), topics.end(), "coupon-processor-catalog-changelog") == topics.end());
}

TEST_CASE("topology validation names the first problem") {
  {
    TopologyBuilder b;
    b.stream("s", "t").processor("p", noop(), {"missing"}, {});
    CHECK(build_error(std::move(b)).find("unknown parent 'missing'") != std::string::npos);
  }
  {
    TopologyBuilder b;
    b.stream("s", "t").processor("p", noop(), {"s"}, {"nostore"});
    CHECK(build_error(std::move(b)).find("undeclared store 'nostore'") != std::string::npos);
  }
  {
    TopologyBuilder b;
    b.stream("x", "t").sink("x", "out", {"x"});
    CHECK(build_error(std::move(b)).find("duplicate node name 'x'") != std::string::npos);
  }
  {
    TopologyBuilder b;
    b.store(state::StoreSpec{"tbl", {}, std::nullopt});
    b.stream("s", "t").table("c", "cat", "tbl", [](const TableRecord&) { return TableUpdate{}; });
    CHECK(build_error(std::move(b)).find("must declare source_topic 'cat'") != std::string::npos);
  }
  {
    TopologyBuilder b;
    b.table("c", "cat", "tbl", [](const TableRecord&) { return TableUpdate{}; })
        .store(state::StoreSpec{"tbl", {}, "cat"});
    CHECK(build_error(std::move(b)).find("no stream source") != std::string::npos);
  }
  {
    TopologyBuilder b;
    b.stream("s", "t").processor("a", noop(), {"s", "b"}, {}).processor("b", noop(), {"a"}, {});
    CHECK(build_error(std::move(b)).find("must be declared after its parent") != std::string::npos);
  }
}
