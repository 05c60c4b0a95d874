// The coupon topology through the in-process driver: every decision rule, replays,
// catalog changes, bad input, and crash/restore paths, with real RocksDB stores.

#include <doctest/doctest.h>

#include <map>
#include <random>
#include <set>

#include "tests/support/coupon_fixture.h"
#include "topology/coupon/dlq.h"
#include "common/errors.h"
#include "common/murmur2.h"
#include "topology/coupon/issued_state.h"

using namespace couponflow;
using namespace couponflow::coupon;
using couponflow::testing::CouponFixture;

TEST_CASE("every decision rule through the topology") {
  CouponFixture f;
  f.define("c", 2, 1500, 5000);
  auto a = f.request("r1", "c", "u1");
  CHECK(a.accepted);
  CHECK(a.issue_no == 1);
  CHECK(a.request_id == "r1");
  CHECK(a.requested_at == 1999);
  CHECK(a.decided_at == f.driver().clock().now_ms());
  CHECK(f.request("r2", "c", "u1").reason == "ALREADY_ISSUED");
  CHECK(f.request("r3", "c", "u2").issue_no == 2);
  CHECK(f.request("r4", "c", "u3").reason == "SOLD_OUT");
  CHECK(f.request("r5", "c", "u4", 1499).reason == "NOT_OPEN");
  CHECK(f.request("r6", "c", "u4", 5000).reason == "CLOSED");
  CHECK(f.request("r7", "nope", "u1").reason == "UNKNOWN_COUPON");
  CHECK(f.issued_count("c") == 2);
}

TEST_CASE("a replayed accepted request gets its issueNo again, whatever changed since") {
  CouponFixture f;
  f.define("c", 1);
  CHECK(f.request("r1", "c", "u1").issue_no == 1);
  f.define("c", 0);  // capacity lowered below what was issued
  auto again = f.request("r1", "c", "u1", 9000);
  CHECK(again.accepted);
  CHECK(again.issue_no == 1);
  f.undefine("c");  // and deleted
  CHECK(f.request("r1", "c", "u1").issue_no == 1);
  CHECK(f.issued_count("c") == 1);
}

TEST_CASE("a replayed rejected request is rejected the same way") {
  CouponFixture f;
  f.define("c", 1);
  CHECK(f.request("r1", "c", "u1").accepted);
  CHECK(f.request("r2", "c", "u2").reason == "SOLD_OUT");
  CHECK(f.request("r2", "c", "u2").reason == "SOLD_OUT");
  CHECK(f.request("r3", "c", "u1").reason == "ALREADY_ISSUED");
  CHECK(f.request("r3", "c", "u1").reason == "ALREADY_ISSUED");
}

TEST_CASE("requests without a requestId are identified by partition and offset") {
  CouponFixture f;
  f.define("c", 5);
  f.driver().pipe(f.topics().issuance, "c", R"({"couponId":"c","userId":"u1"})", 2000);
  auto results = f.read_results();
  REQUIRE(results.size() == 1);
  CHECK(results[0].request_id == fmt::format("0-{}", results[0].offset));
  CHECK_FALSE(results[0].requested_at);
  // The same user again, a different record: a different identity.
  f.driver().pipe(f.topics().issuance, "c", R"({"couponId":"c","userId":"u1"})", 2001);
  CHECK(f.read_results().at(0).reason == "ALREADY_ISSUED");
}

TEST_CASE("capacity can be raised and lowered without revoking anything issued") {
  CouponFixture f;
  f.define("c", 1);
  CHECK(f.request("r1", "c", "u1").issue_no == 1);
  CHECK(f.request("r2", "c", "u2").reason == "SOLD_OUT");
  f.define("c", 3);
  CHECK(f.request("r3", "c", "u2").issue_no == 2);
  CHECK(f.request("r4", "c", "u3").issue_no == 3);
  f.define("c", 2);
  CHECK(f.request("r5", "c", "u4").reason == "SOLD_OUT");
  f.define("c", 4);
  CHECK(f.request("r6", "c", "u4").issue_no == 4);
  CHECK(f.issued_count("c") == 4);
}

TEST_CASE("opening and closing windows follow the record timestamp, not requestedAt") {
  CouponFixture f;
  f.define("c", 10, 2000, 3000);
  f.driver().pipe(f.topics().issuance, "c",
                  request_json("r1", "c", "u1", /*requested_at=*/2500), /*timestamp=*/1999);
  CHECK(f.read_results().at(0).reason == "NOT_OPEN");
  CHECK(f.request("r2", "c", "u1", 2000).accepted);
  CHECK(f.request("r3", "c", "u2", 2999).accepted);
  CHECK(f.request("r4", "c", "u3", 3000).reason == "CLOSED");
  f.define("c", 10, 2000, 4000);  // the window is extended
  CHECK(f.request("r5", "c", "u3", 3000).accepted);
}

TEST_CASE("catalog and requests waiting together are merged in timestamp order") {
  CouponFixture f;
  auto& d = f.driver();
  d.append(f.topics().issuance, "early", request_json("r1", "early", "u1", std::nullopt), 2000);
  d.append(f.topics().catalog, "early", catalog_json("early", {1, {}, {}}), 1000);
  d.append(f.topics().issuance, "tie", request_json("r3", "tie", "u1", std::nullopt), 2000);
  d.append(f.topics().catalog, "tie", catalog_json("tie", {1, {}, {}}), 2000);
  d.append(f.topics().issuance, "late", request_json("r2", "late", "u1", std::nullopt), 2000);
  d.append(f.topics().catalog, "late", catalog_json("late", {1, {}, {}}), 3000);
  d.process_all();
  std::map<std::string, CouponResult> by_coupon;
  for (auto& r : f.read_results()) by_coupon[r.coupon_id] = r;
  CHECK(by_coupon.at("early").accepted);                        // defined before the request
  CHECK(by_coupon.at("late").reason == "UNKNOWN_COUPON");       // defined after it
  CHECK(by_coupon.at("tie").accepted);                          // ties: catalog first
}

TEST_CASE("a catalog record that is not a definition is skipped, live and on restore alike") {
  struct BadCatalog {
    const char* name;
    std::optional<std::string> key;
    std::optional<std::string> value;
    const char* skip;
    std::optional<Partition> partition;  // default: the key's own partition
  };
  CouponFixture f(4);
  const Partition home = murmur2_partition("c", 4);
  const Partition elsewhere{(home.value + 1) % 4};
  auto nested = [](size_t depth) {
    return R"({"couponId":"c","capacity":9,"x":)" + std::string(depth, '[') + std::string(depth, ']') + "}";
  };
  const std::vector<BadCatalog> cases{
      {"no key", std::nullopt, R"({"couponId":"c","capacity":9})", "NO_KEY", home},
      {"empty key", "", R"({"couponId":"","capacity":9})", "NO_KEY", home},
      {"a tombstone without a key", std::nullopt, std::nullopt, "NO_KEY", home},
      {"binary", "c", std::string("\x00\x9f\xff\x01", 4), "MALFORMED"},
      {"not UTF-8", "c", "{\"couponId\":\"c\",\"capacity\":9,\"n\":\"\xc3\x28\"}", "MALFORMED"},
      {"oversized", "c", R"({"couponId":"c","capacity":9,"pad":")" + std::string(17 * 1024, 'x') + R"("})", "TOO_LARGE"},
      {"200,000 levels deep (400 KB)", "c", nested(200'000), "TOO_LARGE"},
      {"deeply nested within the size limit", "c", nested(1000), "MALFORMED"},
      {"capacity as text", "c", R"({"couponId":"c","capacity":"lots"})", "INVALID_FIELD"},
      {"capacity beyond 64 bits", "c", R"({"couponId":"c","capacity":99999999999999999999})", "INVALID_FIELD"},
      {"negative capacity", "c", R"({"couponId":"c","capacity":-1})", "INVALID_FIELD"},
      {"no capacity", "c", R"({"couponId":"c"})", "INVALID_FIELD"},
      {"couponId not the key", "c", R"({"couponId":"other","capacity":9})", "INVALID_FIELD"},
      {"opensAt as text", "c", R"({"couponId":"c","capacity":9,"opensAt":"soon"})", "INVALID_FIELD"},
      {"a field twice", "c", R"({"couponId":"c","capacity":9,"capacity":10})", "MALFORMED"},
      {"trailing content", "c", R"({"couponId":"c","capacity":9} {})", "MALFORMED"},
      {"misplaced by murmur2", "c", R"({"couponId":"c","capacity":9})", "MISPLACED", elsewhere},
      {"a misplaced tombstone", "c", std::nullopt, "MISPLACED", elsewhere},
  };
  f.define("c", 1);
  for (const auto& bad : cases) {
    CAPTURE(bad.name);
    f.driver().pipe(f.topics().catalog, bad.key, bad.value, 1500, bad.partition.value_or(home));
  }
  const auto& metrics = f.driver().metrics();
  auto skipped = [&](const char* reason) {
    return metrics.counter_value("couponflow_records_skipped_total", {{"topic", "coupon-catalog"}, {"reason", reason}});
  };
  std::map<std::string, uint64_t> expected;
  for (const auto& bad : cases) ++expected[bad.skip];
  for (const auto& [reason, n] : expected) CHECK(skipped(reason.c_str()) == n);
  // The coupon keeps its definition: capacity 1.
  CHECK(f.request("r1", "c", "u1").accepted);
  CHECK(f.request("r2", "c", "u2").reason == "SOLD_OUT");

  // Rebuilt from scratch, the catalog skips the same records and nothing stops the task.
  f.driver().commit();
  f.driver().wipe(home);
  f.driver().wipe(elsewhere);
  for (const auto& [reason, n] : expected) CHECK(skipped(reason.c_str()) == 2 * n);
  CHECK(f.request("r3", "c", "u3").reason == "SOLD_OUT");
  CHECK(f.request("r1", "c", "u1").issue_no == 1);
}

TEST_CASE("undecidable records go to the DLQ with the contract's headers, and processing goes on") {
  struct BadInput {
    const char* name;
    std::optional<std::string> key;
    std::optional<std::string> value;
    DlqReason reason;
  };
  const std::vector<BadInput> cases{
      {"null value", "c", std::nullopt, DlqReason::kMalformed},
      {"not JSON", "c", "coupon please", DlqReason::kMalformed},
      {"a JSON array", "c", R"([1,2])", DlqReason::kMalformed},
      {"a JSON string", "c", R"("c")", DlqReason::kMalformed},
      {"truncated JSON", "c", R"({"couponId":"c","userId":"u")", DlqReason::kMalformed},
      {"trailing content", "c", R"({"couponId":"c","userId":"u"} x)", DlqReason::kMalformed},
      {"two objects", "c", R"({"couponId":"c","userId":"u"}{"x":1})", DlqReason::kMalformed},
      {"an extra closing brace", "c", R"({"couponId":"c","userId":"u"}})", DlqReason::kMalformed},
      {"a broken unknown field", "c", R"({"couponId":"c","userId":"u","x":tru})", DlqReason::kMalformed},
      {"invalid UTF-8", "c", "{\"couponId\":\"c\",\"userId\":\"\xff\"}", DlqReason::kMalformed},
      {"a field given twice", "c", R"({"couponId":"c","userId":"u","userId":"v"})", DlqReason::kMalformed},
      {"empty value", "c", "", DlqReason::kMalformed},
      {"missing couponId", "c", R"({"userId":"u"})", DlqReason::kMissingField},
      {"missing userId", "c", R"({"couponId":"c"})", DlqReason::kMissingField},
      {"numeric couponId", "c", R"({"couponId":7,"userId":"u"})", DlqReason::kInvalidField},
      {"empty userId", "c", R"({"couponId":"c","userId":""})", DlqReason::kInvalidField},
      {"numeric requestId", "c", R"({"requestId":5,"couponId":"c","userId":"u"})", DlqReason::kInvalidField},
      {"textual requestedAt", "c", R"({"couponId":"c","userId":"u","requestedAt":"now"})", DlqReason::kInvalidField},
      {"fractional requestedAt", "c", R"({"couponId":"c","userId":"u","requestedAt":1.5})", DlqReason::kInvalidField},
      {"value over 16 KiB", "c",
       R"({"couponId":"c","userId":"u","pad":")" + std::string(16 * 1024, 'x') + R"("})",
       DlqReason::kTooLarge},
      {"key differs from couponId", "d", R"({"couponId":"c","userId":"u"})", DlqReason::kMisrouted},
      {"null key", std::nullopt, R"({"couponId":"c","userId":"u"})", DlqReason::kMisrouted},
  };
  CouponFixture f;
  f.define("c", 100);
  for (const auto& bad : cases) {
    CAPTURE(bad.name);
    f.driver().clock().advance(1);
    const Offset offset = f.driver().pipe(f.topics().issuance, bad.key, bad.value, 2000, Partition{0});
    auto dlq = f.driver().read_output(f.topics().dlq);
    REQUIRE(dlq.size() == 1);
    const auto& entry = dlq[0];
    CHECK(entry.header("dlq.reason") == to_string(bad.reason));
    CHECK(entry.header("dlq.error").value_or("").size() > 5);
    CHECK(entry.header("dlq.source.topic") == "coupon-issuance");
    CHECK(entry.header("dlq.source.partition") == "0");
    CHECK(entry.header("dlq.source.offset") == std::to_string(offset.value));
    CHECK(entry.header("dlq.failed-at") == std::to_string(f.driver().clock().now_ms()));
    CHECK(entry.key == bad.key);
    CHECK(entry.value == bad.value);
    CHECK(f.read_results().empty());
    // Processing goes on: a good request right after is decided.
    CHECK(f.request(std::string("ok-") + bad.name, "c", std::string("user-") + bad.name).accepted);
  }
  CHECK(f.issued_count("c") == static_cast<int64_t>(cases.size()));
}

TEST_CASE("a request in a partition its coupon does not map to is never counted") {
  CouponFixture f(12);
  f.define("c", 100);
  const Partition home = murmur2_partition("c", 12);
  const Partition wrong{(home.value + 1) % 12};
  f.driver().pipe(f.topics().issuance, "c", request_json("r1", "c", "u1", std::nullopt), 2000, wrong);
  auto dlq = f.driver().read_output(f.topics().dlq);
  REQUIRE(dlq.size() == 1);
  CHECK(dlq[0].header("dlq.reason") == "MISROUTED");
  CHECK(dlq[0].header("dlq.source.partition") == std::to_string(wrong.value));
  CHECK(f.read_results().empty());
  CHECK(f.issued_count("c", home) == 0);
  CHECK(f.issued_count("c", wrong) == 0);
  // The same user in the right partition is still first in line.
  CHECK(f.request("r1", "c", "u1").issue_no == 1);
}

TEST_CASE("after a crash, uncommitted requests are replayed and decided identically") {
  CouponFixture f;
  f.define("c", 2);
  CHECK(f.request("r1", "c", "u1").issue_no == 1);
  f.driver().commit();
  std::vector<CouponResult> before;
  for (auto [id, user] : {std::pair{"r2", "u2"}, {"r3", "u3"}, {"r4", "u2"}}) {
    before.push_back(f.request(id, "c", user));
  }
  CHECK(before[0].issue_no == 2);
  f.driver().crash(Partition{0});
  auto replayed = f.read_results();
  REQUIRE(replayed.size() == before.size());
  for (size_t i = 0; i < before.size(); ++i) {
    CHECK(replayed[i].request_id == before[i].request_id);
    CHECK(replayed[i].accepted == before[i].accepted);
    CHECK(replayed[i].issue_no == before[i].issue_no);
    CHECK(replayed[i].reason == before[i].reason);
  }
  CHECK(f.issued_count("c") == 2);
  CHECK(f.request("r5", "c", "u5").reason == "SOLD_OUT");
}

TEST_CASE("a wiped task rebuilds its stores from the changelog and the catalog topic") {
  CouponFixture f;
  f.define("c", 3);
  f.define("d", 1);
  CHECK(f.request("r1", "c", "u1").accepted);
  CHECK(f.request("r2", "c", "u2").accepted);
  CHECK(f.request("r3", "d", "u1").accepted);
  f.driver().commit();
  f.driver().wipe(Partition{0});
  CHECK(f.read_results().empty());  // everything was committed: nothing replays
  CHECK(f.issued_count("c") == 2);
  CHECK(f.request("r4", "c", "u1").reason == "ALREADY_ISSUED");
  CHECK(f.request("r1", "c", "u1").issue_no == 1);
  CHECK(f.request("r5", "c", "u3").issue_no == 3);
  CHECK(f.request("r6", "c", "u4").reason == "SOLD_OUT");
  CHECK(f.request("r7", "d", "u2").reason == "SOLD_OUT");
}

TEST_CASE("a restart with the state kept restores only the changelog tail") {
  CouponFixture f;
  f.define("c", 1000);
  for (int i = 0; i < 200; ++i) f.request(fmt::format("r{}", i), "c", fmt::format("u{}", i));
  f.driver().commit();
  for (int i = 200; i < 210; ++i) f.request(fmt::format("r{}", i), "c", fmt::format("u{}", i));
  f.driver().crash(Partition{0});
  // Only the 10 holdings written after the checkpoint come back from the changelog.
  CHECK(f.driver().task(Partition{0}).stats().restored == 10);
  f.read_results();
  CHECK(f.request("r-next", "c", "u-next").issue_no == 211);
}

TEST_CASE("crashes and wipes at random points never change a decision or let the count drift") {
  // Reference: the same requests decided without any failure.
  std::mt19937 rng(2024);
  struct Req {
    std::string id, coupon, user;
  };
  std::vector<Req> requests;
  const std::vector<std::string> coupons{"a", "b", "c", "d"};
  for (int i = 0; i < 600; ++i) {
    requests.push_back({fmt::format("r{}", i), coupons[rng() % coupons.size()], fmt::format("u{}", rng() % 60)});
    if (rng() % 10 == 0) requests.push_back(requests[rng() % requests.size()]);  // duplicates
  }
  auto run = [&](CouponFixture& f, bool faults) {
    std::mt19937 fault_rng(99);
    f.define("a", 5);
    f.define("b", 20);
    f.define("c", 1);
    f.define("d", 100);
    f.driver().commit();
    std::map<std::string, std::set<std::string>> outcomes;  // identity -> distinct decisions
    for (const auto& r : requests) {
      const int64_t ts = 2000;
      f.driver().pipe(f.topics().issuance, r.coupon, request_json(r.id, r.coupon, r.user, std::nullopt), ts);
      if (faults) {
        switch (fault_rng() % 20) {
          case 0: f.driver().commit(); break;
          case 1: f.driver().crash(Partition{0}); break;
          case 2: f.driver().wipe(Partition{0}); break;
          default: break;
        }
      }
    }
    for (const auto& res : f.read_results()) {
      outcomes[res.request_id].insert(res.accepted ? fmt::format("A{}", res.issue_no) : res.reason);
    }
    return outcomes;
  };
  CouponFixture reference;
  CouponFixture faulty;
  auto expected = run(reference, false);
  auto actual = run(faulty, true);
  CHECK(actual == expected);  // one decision per identity, the same as without faults
  for (const auto& c : coupons) CHECK(faulty.issued_count(c) == reference.issued_count(c));

  // The benchmark's driver deletes requests once committed: a crash replays only what
  // was not, so it decides alike, and it holds fewer requests.
  CouponFixture purged(1, {}, /*purge_committed_requests=*/true);
  CHECK(run(purged, true) == expected);
  const auto kept = purged.driver().log(purged.topics().issuance, Partition{0});
  REQUIRE_FALSE(kept.empty());
  CHECK(kept.front().offset.value > 0);
  CHECK(kept.size() < reference.driver().log(reference.topics().issuance, Partition{0}).size());
  // A request not yet processed when the commit comes is kept, and decided after it.
  purged.driver().append(purged.topics().issuance, "a", request_json("late", "a", "u-late", std::nullopt), 2000);
  purged.driver().commit();
  purged.driver().process_all();
  const auto late = purged.read_results();
  REQUIRE(late.size() == 1);
  CHECK(late[0].request_id == "late");
  // The count view equals the number of holdings, per coupon.
  auto holdings = faulty.driver().store(Partition{0}, "issued").snapshot();
  std::map<std::string, int64_t> per_coupon;
  for (const auto& [key, value] : holdings) ++per_coupon[std::string(*coupon_of_holding_key(key))];
  for (const auto& c : coupons) CHECK(per_coupon[c] == faulty.issued_count(c));
}

TEST_CASE("the test driver restores through the runtime's changelog reader, with its checks") {
  couponflow::testing::TempDir dir;
  const auto topology = build_coupon_topology();
  processor::testing::TopologyTestDriver::Options options;
  options.state_dir = dir.path();
  {
    processor::testing::TopologyTestDriver driver(topology, options);
    driver.pipe("coupon-catalog", "c", catalog_json("c", {5, {}, {}}), 1000);
    driver.pipe("coupon-issuance", "c", request_json("r1", "c", "u1", std::nullopt), 2000);
    driver.commit();
  }
  // Same local state, new (empty) topics: the store is ahead of its changelog, which was
  // deleted or recreated. The driver refuses it, as the runtime does.
  CHECK_THROWS_WITH_AS(processor::testing::TopologyTestDriver(topology, options),
                       doctest::Contains("the changelog was deleted or recreated"), couponflow::FatalError);
}

TEST_CASE("one cache budget for the instance: 12 tasks' stores stay within it at every commit, decisions unchanged") {
  // statestore.cache.max.bytes is one figure per instance (Kafka Streams' meaning): an
  // instance running every task during a failover needs no more cache than with one.
  CouponOptions coupon_options;
  const auto topology = build_coupon_topology(coupon_options);
  couponflow::testing::TempDir dir;
  processor::testing::TopologyTestDriver::Options options;
  options.state_dir = dir.path();
  options.partitions = 12;
  options.store_cache_bytes = 256 * 1024;  // a few thousand holdings: far fewer than written
  processor::testing::TopologyTestDriver driver(topology, options);
  const auto& budget = driver.cache_budget();
  for (int c = 0; c < 24; ++c) {
    driver.pipe(coupon_options.topics.catalog, fmt::format("c{}", c),
                catalog_json(fmt::format("c{}", c), {1'000'000, {}, {}}), 1000);
  }
  size_t most = 0;
  for (int i = 0; i < 24'000; ++i) {
    const std::string coupon = fmt::format("c{}", i % 24);
    driver.append(coupon_options.topics.issuance, coupon,
                  request_json(fmt::format("r{}", i), coupon, fmt::format("u{}", i), std::nullopt), 2000 + i);
    if (i % 1000 == 999) {
      driver.process_all();
      driver.commit();
      most = std::max(most, budget.used_bytes());
      REQUIRE(budget.used_bytes() <= budget.max_bytes());
    }
  }
  CHECK(most > budget.max_bytes() / 2);  // the budget was used, not left idle
  // Evicted holdings are read back from RocksDB: every request accepted once, and a
  // replay of an early request (evicted long ago) is an idempotent replay.
  CHECK(driver.record_count(coupon_options.topics.issued) == 24'000);
  driver.pipe(coupon_options.topics.issuance, "c0", request_json("r0", "c0", "u0", std::nullopt), 90'000);
  const auto replay = driver.read_output(coupon_options.topics.issued);
  REQUIRE(replay.size() == 24'001);
  std::string error;
  const auto parsed = parse_result(replay.back().value.value_or(""), error);
  REQUIRE(parsed.has_value());
  CHECK(parsed->request_id == "r0");
  CHECK(parsed->issue_no == 1);
  CHECK(driver.record_count(coupon_options.topics.rejected) == 0);
}
