#include <doctest/doctest.h>

#include "common/errors.h"
#include "processor/partition_guard.h"
#include "tests/support/embedded_cluster.h"

using namespace couponflow;
using namespace couponflow::processor;

namespace {
std::string failure(const std::map<std::string, int32_t>& observed, std::optional<int32_t> expected) {
  try {
    check_partitioning("in", {"in", "table", "changelog"}, observed, expected);
  } catch (const FatalError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("the partition guard accepts co-partitioned topics at the expected count") {
  CHECK(check_partitioning("in", {"in", "table", "changelog"}, {{"in", 12}, {"table", 12}, {"changelog", 12}}, 12) ==
        12);
  CHECK(check_partitioning("in", {"table"}, {{"in", 6}, {"table", 6}}, std::nullopt) == 6);
}

TEST_CASE("the partition guard stops on a repartitioned input and says how to migrate") {
  const auto error = failure({{"in", 16}, {"table", 16}, {"changelog", 12}}, 12);
  CHECK(error.find("in now has 16 partitions but this application's state was built for 12") != std::string::npos);
  CHECK(error.find("new --application-id") != std::string::npos);
  CHECK(failure({{"in", 12}, {"table", 13}, {"changelog", 12}}, 12).find("table has 13 partitions but in has 12") !=
        std::string::npos);
  CHECK(failure({{"in", 12}, {"changelog", 12}}, 12).find("topic table does not exist") != std::string::npos);
}

TEST_CASE("an instance whose state was built for another partition count refuses to process") {
  couponflow::testing::TempDir state;
  {
    couponflow::testing::EmbeddedCluster two(2);
    two.define("c", 10);
    auto instance = two.start(state.path(), "p1");
    couponflow::testing::EmbeddedCluster::wait_until_running({instance.get()}, 2);
    two.request("r1", "c", "u1");
    two.flush();
    two.wait_for_answers(1);
    instance->stop();
  }
  // The same application and state, now on topics with 4 partitions: coupon "c" would
  // map to another partition, whose task has never counted it.
  couponflow::testing::EmbeddedCluster four(4);
  four.define("c", 10);
  four.request("r2", "c", "u2");
  four.flush();
  auto instance = four.start(state.path(), "p1");
  for (int i = 0; i < 300 && !instance->done(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  REQUIRE(instance->done());
  CHECK(instance->error().find("coupon-issuance now has 4 partitions but this application's state was built for 2") !=
        std::string::npos);
  CHECK(four.results().empty());  // nothing was decided under the new partitioning
}
