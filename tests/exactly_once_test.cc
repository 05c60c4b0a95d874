// exactly_once_v2 on the embedded broker. It accepts transactions but writes no commit
// or abort markers and stores no offsets sent with a transaction (see docs/design.md),
// so these tests prove the abort path and the offset handling, not read_committed
// isolation, which only a real broker provides.

#include <doctest/doctest.h>

#include "tests/support/embedded_cluster.h"

using namespace couponflow;
using namespace couponflow::testing;

TEST_CASE("exactly_once_v2: an error injected mid-transaction aborts it, and nothing is lost or double-counted") {
  EmbeddedCluster cluster(3);
  cluster.set_guarantee(processor::Guarantee::kExactlyOnceV2);
  TempDir state;
  cluster.define("c", 500);
  auto instance = cluster.start(state.path(), "p1");
  EmbeddedCluster::wait_until_running({instance.get()}, 3);
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 300; ++i) {
      const int n = round * 300 + i;
      cluster.request(fmt::format("r{}", n), "c", fmt::format("u{}", n % 1000));
    }
    cluster.flush();
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    // The broker refuses to add a partition to the transaction: it can only be aborted.
    // (Transactional requests only: the test's own producer is not disturbed.)
    cluster.broker().push_request_errors(round % 2 ? "AddOffsetsToTxn" : "AddPartitionsToTxn",
                                         {round % 2 ? "GROUP_AUTHORIZATION_FAILED" : "TOPIC_AUTHORIZATION_FAILED"});
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  cluster.wait_until_all_answered();
  CHECK_FALSE(instance->done());
  CHECK(instance->status().aborted_transactions > 0);
  auto report = cluster.verify();
  CHECK_MESSAGE(report.ok(), ops::format_report(report));
  CHECK(report.coupons.at("c").accepted == 500);
}
