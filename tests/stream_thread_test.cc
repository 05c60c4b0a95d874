// The stream thread's failure paths, on scripted clients (processor/testing/mock_*):
// each rebalance, timeout, abort and outage is fired at an exact call by the test, not
// left to broker timing, so each test fails the same way every time the code is wrong.

#include <doctest/doctest.h>

#include <fmt/format.h>

#include "common/murmur2.h"
#include "tests/support/mock_runtime.h"
#include "topology/coupon/coupon_queries.h"

using namespace couponflow;
using namespace couponflow::testing;
using processor::Guarantee;
using processor::testing::MockCall;
using processor::testing::MockCluster;
using processor::testing::MockFault;

namespace {

/// A coupon id murmur2 maps to `partition` of `count`.
std::string coupon_in(int32_t partition, int32_t count, const std::string& prefix = "c") {
  for (int i = 0;; ++i) {
    std::string id = fmt::format("{}{}", prefix, i);
    if (murmur2_partition(id, count).value == partition) return id;
  }
}

void send_requests(MockRuntime& rt, const std::string& coupon, int first, int count, EpochMillis ts = 2000) {
  for (int i = first; i < first + count; ++i) rt.request(fmt::format("r{}", i), coupon, fmt::format("u{}", i), ts);
}

}  // namespace

TEST_CASE("on scripted clients the stream thread decides every request once") {
  Guarantee guarantee = Guarantee::kAtLeastOnce;
  SUBCASE("at_least_once") {}
  SUBCASE("exactly_once_v2") { guarantee = Guarantee::kExactlyOnceV2; }
  MockRuntime rt(2);
  TempDir state;
  const std::string a = coupon_in(0, 2), b = coupon_in(1, 2);
  rt.define(a, 5);
  rt.define(b, 50);
  send_requests(rt, a, 0, 20);
  send_requests(rt, b, 20, 20);
  auto instance = rt.start(state.path(), guarantee);
  rt.assign_all();
  rt.wait_for_answers(40, *instance);
  instance->stop();
  CHECK(instance->error().empty());
  const auto report = rt.verify();
  CHECK_MESSAGE(report.ok(), ops::format_report(report));
  CHECK(report.duplicate_results == 0);
  CHECK(report.coupons.at(a).accepted == 5);
  CHECK(report.coupons.at(b).accepted == 20);
  CHECK(rt.cluster().committed(MockRuntime::kGroup).at({"coupon-issuance", Partition{0}}) == Offset{20});
}

TEST_CASE("a request waits, however long it takes, for a catalog partition not fetched since its assignment") {
  // The definition precedes the request in time; the catalog partition's first fetch is
  // slow. Deciding without it (as a bounded max.task.idle.ms used to after 2 s) answers
  // UNKNOWN_COUPON for a coupon that was defined first.
  MockRuntime rt(1);
  TempDir state;
  rt.define("c", 3, 1000);
  rt.request("r1", "c", "u1", 2000);
  const TopicPartition catalog{"coupon-catalog", Partition{0}};
  rt.cluster().hold_fetches(catalog, true);
  auto instance = rt.start(state.path());
  rt.assign_all();
  MockRuntime::wait_until([&] { return MockRuntime::running_tasks(*instance) == 1; }, "the task runs");
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));
  CHECK(rt.answered() == 0);  // still waiting, not guessing
  rt.cluster().hold_fetches(catalog, false);
  rt.wait_for_answers(1, *instance);
  const auto results = rt.results();
  REQUIRE(results.size() == 1);
  CHECK(results[0].accepted);
}

TEST_CASE("exactly_once_v2: a transaction commit that times out is retried with the same call, never aborted") {
  MockRuntime rt(2);
  TempDir state;
  const std::string a = coupon_in(0, 2);
  rt.define(a, 1000);
  rt.cluster().inject(MockCall::kCommitTransaction, MockFault::kTimeout, 3);
  send_requests(rt, a, 0, 100);
  auto instance = rt.start(state.path(), Guarantee::kExactlyOnceV2);
  rt.assign_all();
  rt.wait_for_answers(100, *instance);
  MockRuntime::wait_until(
      [&] { return rt.cluster().committed(MockRuntime::kGroup)[{"coupon-issuance", Partition{0}}] == Offset{100}; },
      "the offsets are committed");
  CHECK(rt.cluster().calls(MockCall::kCommitTransaction) >= 4);
  CHECK(rt.cluster().calls(MockCall::kAbortTransaction) == 0);
  CHECK(instance->status().aborted_transactions == 0);
  CHECK_FALSE(instance->done());
  instance->stop();
  const auto report = rt.verify();
  CHECK_MESSAGE(report.ok(), ops::format_report(report));
  CHECK(report.duplicate_results == 0);
}

TEST_CASE("exactly_once_v2: an aborted transaction is redone from the committed offsets, each request answered once") {
  MockRuntime rt(2);
  TempDir state;
  const std::string a = coupon_in(0, 2), b = coupon_in(1, 2);
  rt.define(a, 10);
  rt.define(b, 10);
  send_requests(rt, a, 0, 30);
  send_requests(rt, b, 30, 30);
  rt.cluster().inject(MockCall::kCommitTransaction, MockFault::kAbortable, 2);
  auto instance = rt.start(state.path(), Guarantee::kExactlyOnceV2);
  rt.assign_all();
  rt.wait_for_answers(60, *instance);
  CHECK(instance->status().aborted_transactions == 2);
  instance->stop();
  const auto report = rt.verify();
  CHECK_MESSAGE(report.ok(), ops::format_report(report));
  CHECK(report.duplicate_results == 0);  // the aborted transactions' results were never visible
  CHECK(report.coupons.at(a).accepted == 10);
}

TEST_CASE("exactly_once_v2: partitions lost during a broker outage stall the instance until the broker returns") {
  // The transaction holding the lost tasks' work must be aborted, and the abort times out
  // while the broker is down: the instance must keep trying, not die or hang half-closed.
  MockRuntime rt(2);
  TempDir state;
  const std::string a = coupon_in(0, 2);
  rt.define(a, 1000);
  send_requests(rt, a, 0, 50);
  auto instance = rt.start(state.path(), Guarantee::kExactlyOnceV2);
  rt.assign_all();
  rt.wait_for_answers(50, *instance);

  rt.cluster().set_down(true);
  send_requests(rt, a, 50, 10);  // taken in, but nothing can be committed
  rt.cluster().lose(MockRuntime::kGroup, rt.inputs());
  MockRuntime::wait_until([&] { return rt.cluster().calls(MockCall::kAbortTransaction) >= 6; },
                          "the abort is retried");
  CHECK_FALSE(instance->done());
  rt.cluster().set_down(false);
  MockRuntime::wait_until([&] { return rt.cluster().events_served(MockRuntime::kGroup); }, "the loss is handled");
  rt.assign_all();  // the group hands the partitions back once the broker answers
  send_requests(rt, a, 60, 40);
  rt.wait_for_answers(100, *instance);
  CHECK_FALSE(instance->done());
  instance->stop();
  CHECK(instance->error().empty());
  const auto report = rt.verify();
  CHECK_MESSAGE(report.ok(), ops::format_report(report));
  CHECK(report.duplicate_results == 0);
}

TEST_CASE("an assignment during a broker outage waits in the rebalance callback instead of killing the instance") {
  Guarantee guarantee = Guarantee::kAtLeastOnce;
  SUBCASE("at_least_once") {}
  SUBCASE("exactly_once_v2") { guarantee = Guarantee::kExactlyOnceV2; }
  MockRuntime rt(2);
  TempDir state;
  const std::string a = coupon_in(1, 2);
  rt.define(a, 5);
  send_requests(rt, a, 0, 10);
  auto instance = rt.start(state.path(), guarantee);
  MockRuntime::wait_until([&] { return instance->status().running; }, "the instance runs");
  rt.cluster().set_down(true);
  rt.assign_all();  // the callback needs committed offsets and watermarks: none can be read
  MockRuntime::wait_until([&] { return rt.cluster().calls(MockCall::kCommitted) >= 6; },
                          "committed offsets are asked for again and again");
  CHECK_FALSE(instance->done());  // it used to give up with a fatal error after 5 tries
  rt.cluster().set_down(false);
  rt.wait_for_answers(10, *instance);
  instance->stop();
  CHECK(instance->error().empty());
  const auto report = rt.verify();
  CHECK_MESSAGE(report.ok(), ops::format_report(report));
}

TEST_CASE("exactly_once_v2 on a broker that stores no transactional offsets: judged from an offset that moved") {
  // Partition 0 was fully processed in an earlier life (its offset committed directly);
  // only partition 1 has new input. The first transaction sends p0 at the offset it was
  // already stored at: that proves nothing about the broker, and deciding from it (the
  // first entry) switched the direct commits off for good, so nothing was stored again.
  MockCluster::Options options;
  options.transactions_store_offsets = false;
  MockRuntime rt(2, options);
  TempDir state;
  const std::string a = coupon_in(0, 2), b = coupon_in(1, 2);
  rt.define(a, 100);
  rt.define(b, 100);
  send_requests(rt, a, 0, 5);
  const TopicPartition p0{"coupon-issuance", Partition{0}}, p1{"coupon-issuance", Partition{1}};
  rt.cluster().set_committed(MockRuntime::kGroup, p0, Offset{5});
  rt.cluster().set_committed(MockRuntime::kGroup, {"coupon-catalog", Partition{0}}, Offset{1});
  send_requests(rt, b, 5, 20);
  auto instance = rt.start(state.path(), Guarantee::kExactlyOnceV2);
  rt.assign_all();
  rt.wait_for_answers(20, *instance);
  MockRuntime::wait_until([&] { return rt.cluster().committed(MockRuntime::kGroup)[p1] == Offset{20}; },
                          "partition 1's offset is stored");
  send_requests(rt, b, 25, 10);
  rt.wait_for_answers(30, *instance);
  MockRuntime::wait_until([&] { return rt.cluster().committed(MockRuntime::kGroup)[p1] == Offset{30}; },
                          "and stored again after more input");
  instance->stop();
}

TEST_CASE("a restore whose changelog ends in a transaction marker finishes while the side consumer stays busy") {
  MockRuntime rt(2);
  TempDir state;
  const std::string a = coupon_in(0, 2), b = coupon_in(1, 2);
  rt.define(a, 100);
  rt.define(b, 100);
  // Partition 1's changelog: one holding, then the marker of the transaction that wrote it.
  const TopicPartition changelog{"coupon-processor-issued-changelog", Partition{1}};
  rt.append_holding(Partition{1}, b, "u0");
  rt.cluster().append_transaction_marker(changelog);
  auto instance = rt.start(state.path(), Guarantee::kExactlyOnceV2);
  rt.cluster().assign(MockRuntime::kGroup, {{"coupon-issuance", Partition{0}}});
  MockRuntime::wait_until([&] { return MockRuntime::running_tasks(*instance) == 1; }, "partition 0 runs");
  // From now on every fetch of partition 0's catalog brings a record: the side consumer
  // that restores partition 1 never has an idle poll.
  processor::testing::LoggedRecord busy;
  busy.key = a;
  busy.value = coupon::catalog_json(a, {100, {}, {}});
  busy.timestamp = 1000;
  rt.cluster().keep_busy({"coupon-catalog", Partition{0}}, busy);
  rt.cluster().assign(MockRuntime::kGroup, {{"coupon-issuance", Partition{1}}});
  MockRuntime::wait_until([&] { return MockRuntime::running_tasks(*instance) == 2; }, "partition 1 restores and runs",
                          std::chrono::seconds(10));
  rt.cluster().keep_busy({"coupon-catalog", Partition{0}}, std::nullopt);
  rt.request("r0", b, "u0");  // the holding restored: an idempotent replay
  rt.wait_for_answers(1, *instance);
  CHECK(rt.results().at(0).issue_no == 1);
  instance->stop();
}

TEST_CASE("a commit refused while the group rebalances is retried at the next chance, and on revocation") {
  MockRuntime rt(2);
  TempDir state;
  const std::string a = coupon_in(0, 2);
  rt.define(a, 100);
  rt.cluster().inject(MockCall::kCommit, MockFault::kRebalanceInProgress, 5);
  send_requests(rt, a, 0, 30);
  auto instance = rt.start(state.path());
  rt.assign_all();
  rt.wait_for_answers(30, *instance);
  const TopicPartition p0{"coupon-issuance", Partition{0}};
  MockRuntime::wait_until([&] { return rt.cluster().committed(MockRuntime::kGroup)[p0] == Offset{30}; },
                          "the offsets are committed once the group allows it");
  // The group starts rebalancing: commits are refused. When it completes, the revoked
  // partitions' callback commits what was processed before they go, so the next owner
  // replays nothing.
  rt.cluster().begin_rebalance(MockRuntime::kGroup);
  const int commits_before = rt.cluster().calls(MockCall::kCommit);
  send_requests(rt, a, 30, 10);
  rt.wait_for_answers(40, *instance);
  MockRuntime::wait_until([&] { return rt.cluster().calls(MockCall::kCommit) >= commits_before + 3; },
                          "commits are tried (and refused) while the group rebalances");
  CHECK(rt.cluster().committed(MockRuntime::kGroup)[p0] == Offset{30});
  rt.cluster().revoke(MockRuntime::kGroup, rt.inputs());
  MockRuntime::wait_until([&] { return rt.cluster().events_served(MockRuntime::kGroup); }, "the revocation is served");
  CHECK(rt.cluster().committed(MockRuntime::kGroup)[p0] == Offset{40});
  instance->stop();
}

TEST_CASE("a crash while the group refuses commits replays nothing the recorded input position covers") {
  // The group refuses commits while it rebalances (on the embedded broker for seconds at a
  // time, over and over under churn). Each commit interval still records the input
  // position with the state, so the next owner resumes there, not at the stale offset
  // the group has.
  Guarantee guarantee = Guarantee::kAtLeastOnce;
  MockCluster::Options options;
  SUBCASE("at_least_once") {}
  SUBCASE("exactly_once_v2 on a broker that stores no transactional offsets") {
    guarantee = Guarantee::kExactlyOnceV2;
    options.transactions_store_offsets = false;
  }
  MockRuntime rt(1, options);
  TempDir first_state, second_state;
  rt.define("c", 100);
  auto instance = rt.start(first_state.path(), guarantee);
  rt.assign_all();
  MockRuntime::wait_until([&] { return MockRuntime::running_tasks(*instance) == 1; }, "the task runs");
  rt.cluster().begin_rebalance(MockRuntime::kGroup);
  send_requests(rt, "c", 0, 50);
  rt.wait_for_answers(50, *instance);
  const int commits = rt.cluster().calls(MockCall::kCommit) + rt.cluster().calls(MockCall::kCommitTransaction);
  MockRuntime::wait_until(
      [&] { return rt.cluster().calls(MockCall::kCommit) + rt.cluster().calls(MockCall::kCommitTransaction) >= commits + 3; },
      "a few more commit intervals pass");
  rt.cluster().inject(MockCall::kPoll, MockFault::kFatal);  // the instance dies: no goodbye, no commit
  MockRuntime::wait_until([&] { return instance->done(); }, "the instance dies");
  instance.reset();
  const auto committed = rt.cluster().committed(MockRuntime::kGroup);
  const TopicPartition p0{"coupon-issuance", Partition{0}};
  CHECK((!committed.contains(p0) || committed.at(p0) == Offset{0}));  // the group never got the 50

  auto next = rt.start(second_state.path(), guarantee);  // another instance, no local state
  rt.assign_all();
  send_requests(rt, "c", 50, 10);
  rt.wait_for_answers(60, *next);
  next->stop();
  const auto report = rt.verify();
  CHECK_MESSAGE(report.ok(), ops::format_report(report));
  CHECK(report.duplicate_results == 0);
  CHECK(report.coupons.at("c").accepted == 60);
}

TEST_CASE("exactly_once_v2 without transaction markers: an aborted transaction never records an input position") {
  // On the embedded broker an aborted transaction's delivered records stay visible. A
  // position recorded inside the transaction it describes would survive an abort that
  // dropped some of that transaction's results, and the next owner would skip requests
  // nobody answered. The position is recorded only once its transaction committed.
  MockCluster::Options options;
  options.transaction_markers = false;
  options.transactions_store_offsets = false;
  MockRuntime rt(1, options);
  TempDir first_state, second_state;
  rt.define("c", 100);
  auto instance = rt.start(first_state.path(), Guarantee::kExactlyOnceV2);
  rt.assign_all();
  MockRuntime::wait_until([&] { return MockRuntime::running_tasks(*instance) == 1; }, "the task runs");
  MockRuntime::wait_until([&] { return rt.cluster().calls(MockCall::kCommitTransaction) >= 1; }, "a first commit");
  // Results to a partition whose leader does not answer wait in the producer; the
  // changelog is delivered. The commit then fails for good: the abort drops the results.
  for (const char* topic : {"coupon-issued", "coupon-rejected"}) rt.cluster().hold_deliveries({topic, Partition{0}}, true);
  rt.cluster().inject(MockCall::kCommitTransaction, MockFault::kAbortable);
  rt.cluster().inject(MockCall::kCommitTransaction, MockFault::kFatal);  // the redo dies with the instance
  send_requests(rt, "c", 0, 10);
  MockRuntime::wait_until([&] { return instance->done(); }, "the instance dies");
  instance.reset();
  for (const char* topic : {"coupon-issued", "coupon-rejected"}) rt.cluster().hold_deliveries({topic, Partition{0}}, false);

  auto next = rt.start(second_state.path(), Guarantee::kExactlyOnceV2);
  rt.assign_all();
  rt.wait_for_answers(10, *next);
  next->stop();
  const auto report = rt.verify();
  CHECK_MESSAGE(report.ok(), ops::format_report(report));
  CHECK(report.coupons.at("c").accepted == 10);
}

TEST_CASE("exactly_once_v2: a revocation whose commit must abort redoes the kept task from its committed offset") {
  // The abort happens inside the rebalance callback, between two polls. The kept task is
  // reopened at its committed offset and must receive its input again from there; nothing
  // it had been handed before the abort may be skipped or handed to it twice.
  MockRuntime rt(2);
  TempDir state;
  const std::string a = coupon_in(0, 2), b = coupon_in(1, 2);
  rt.define(a, 100);
  rt.define(b, 100);
  auto config = rt.config(state.path(), Guarantee::kExactlyOnceV2);
  config.commit_interval_ms = 600'000;  // one transaction holds everything until the revocation
  auto instance = rt.start(config);
  rt.assign_all();
  MockRuntime::wait_until([&] { return MockRuntime::running_tasks(*instance) == 2; }, "both tasks run");
  send_requests(rt, a, 0, 20);
  send_requests(rt, b, 20, 20);
  // Processed records: the 40 requests and the 2 definitions.
  MockRuntime::wait_until([&] { return instance->status().processed == 42; }, "all 40 are decided");
  CHECK(rt.answered() == 0);  // in the open transaction

  rt.cluster().inject(MockCall::kCommitTransaction, MockFault::kAbortable);
  const TopicPartition p1{"coupon-issuance", Partition{1}};
  rt.cluster().revoke(MockRuntime::kGroup, {p1});
  MockRuntime::wait_until([&] { return rt.cluster().events_served(MockRuntime::kGroup); }, "the revocation is served");
  CHECK(instance->status().aborted_transactions == 1);
  send_requests(rt, a, 40, 10);
  rt.cluster().assign(MockRuntime::kGroup, {p1});  // and back: partition 1 redoes its 20 too
  // Redone: each task from its start (definition and requests), partition 0 with 10 more.
  MockRuntime::wait_until([&] { return instance->status().processed == 42 + 31 + 21; }, "the work is redone");
  instance->stop();
  CHECK(instance->error().empty());
  CHECK(rt.answered() == 50);
  const auto report = rt.verify();
  CHECK_MESSAGE(report.ok(), ops::format_report(report));
  CHECK(report.duplicate_results == 0);
  CHECK(report.coupons.at(a).accepted == 30);
  CHECK(report.coupons.at(b).accepted == 20);
}

TEST_CASE("an instance refuses to start on a changelog that retention may trim") {
  MockRuntime rt(1);
  TempDir state;
  rt.cluster().set_topic_config("coupon-processor-issued-changelog", "cleanup.policy", "delete");
  auto instance = rt.start(state.path());
  MockRuntime::wait_until([&] { return instance->done(); }, "the instance stops");
  CHECK(instance->error().find("coupon-processor-issued-changelog has cleanup.policy=delete") != std::string::npos);

  // Compacted, it starts; so it does where the cluster has no Admin API to ask.
  rt.cluster().set_topic_config("coupon-processor-issued-changelog", "cleanup.policy", "compact");
  TempDir second;
  auto fixed = rt.start(second.path());
  rt.assign_all();
  MockRuntime::wait_until([&] { return MockRuntime::running_tasks(*fixed) == 1; }, "the task runs");
  CHECK(fixed->error().empty());
  fixed->stop();
}

TEST_CASE("interactive queries: refused while the task restores, answered from its stores once it runs, refused after revocation") {
  MockRuntime rt(2);
  TempDir state;
  const std::string a = coupon_in(0, 2);
  rt.define(a, 5);
  const TopicPartition changelog{"coupon-processor-issued-changelog", Partition{0}};
  rt.append_holding(Partition{0}, a, "u0");
  rt.cluster().hold_fetches(changelog, true);  // the restore cannot finish
  auto instance = rt.start(state.path());
  const auto& streams = instance->instance();

  std::optional<coupon::CouponStatus> status;
  std::optional<coupon::HolderStatus> holder;
  const processor::StoreQuery query = [&](processor::QueryableStores& stores) {
    status = coupon::read_coupon_status(stores.store(coupon::kCatalogStore),
                                        stores.view(coupon::kIssuedStore, coupon::kCountsView), a);
    holder = coupon::read_holder(stores.store(coupon::kIssuedStore), a, "u0");
  };
  CHECK(streams.query(Partition{0}, query, 1'000) == processor::QueryOutcome::kNotOwner);  // not assigned yet
  rt.cluster().assign(MockRuntime::kGroup, {{"coupon-issuance", Partition{0}}});
  MockRuntime::wait_until([&] { return !instance->status().tasks.empty(); }, "partition 0 is assigned");
  CHECK(streams.query(Partition{0}, query, 5'000) == processor::QueryOutcome::kRestoring);
  CHECK_FALSE(status.has_value());

  rt.cluster().hold_fetches(changelog, false);
  MockRuntime::wait_until([&] { return MockRuntime::running_tasks(*instance) == 1; }, "partition 0 runs");
  REQUIRE(streams.query(Partition{0}, query, 5'000) == processor::QueryOutcome::kAnswered);
  REQUIRE(status.has_value());
  CHECK(status->definition.capacity == 5);
  CHECK(status->issued == 1);
  CHECK(status->remaining() == 4);
  REQUIRE(holder.has_value());
  CHECK(holder->issue_no == 1);
  CHECK(holder->request_id == "r0");
  CHECK(streams.query(Partition{1}, query, 1'000) == processor::QueryOutcome::kNotOwner);

  rt.cluster().revoke(MockRuntime::kGroup, {{"coupon-issuance", Partition{0}}});
  MockRuntime::wait_until([&] { return instance->status().tasks.empty(); }, "partition 0 is revoked");
  status.reset();
  CHECK(streams.query(Partition{0}, query, 1'000) == processor::QueryOutcome::kNotOwner);
  CHECK_FALSE(status.has_value());
  instance->stop();
  CHECK(instance->error().empty());
}
