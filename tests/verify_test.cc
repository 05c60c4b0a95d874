// verify by contract v2: it proves violations from the records it has, judges every
// answer of a request, cross-checks the changelog, survives any header or value, and
// says "cannot verify" (exit 3), naming topic and partition, when records it needs are
// gone, instead of blaming the processor for the broker's loss.

#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <sys/wait.h>

#include "common/murmur2.h"
#include "ops/verify/verify.h"
#include "tests/support/embedded_cluster.h"
#include "topology/coupon/issued_state.h"
#include "topology/coupon/json_object.h"

using namespace couponflow;
using namespace couponflow::testing;

namespace {

constexpr int32_t kPartitions = 4;

kafka::ReadRecord record(const std::string& topic, int32_t partition, int64_t offset, std::optional<std::string> key,
                         std::optional<std::string> value, int64_t ts = 1000) {
  kafka::ReadRecord r;
  r.topic = topic;
  r.partition = Partition{partition};
  r.offset = Offset{offset};
  r.timestamp = ts;
  r.key = std::move(key);
  r.value = std::move(value);
  return r;
}

/// A small world: coupon "c" (capacity 2) and its requests, fed to a checker.
class World {
 public:
  World() : checker_("coupon-issuance", kPartitions), home_(murmur2_partition("c", kPartitions).value) {
    checker_.add_catalog(record("coupon-catalog", home_, 0, "c", coupon::catalog_json("c", {2, {}, {}}), 100));
  }
  /// Request number n of user u at offset n.
  void request(int64_t n, const std::string& user) {
    checker_.add_request(record("coupon-issuance", home_, n, "c",
                                coupon::request_json("r" + std::to_string(n), "c", user, std::nullopt), 1000 + n));
  }
  void answer(int64_t n, const std::string& user, bool accepted, int64_t issue_no, const char* reason = "") {
    std::string json;
    coupon::write_result_json(json, coupon::CouponResult{"r" + std::to_string(n), "c", user, accepted, issue_no,
                                                         reason, std::nullopt, 5, home_, n});
    checker_.add_result(record(accepted ? "coupon-issued" : "coupon-rejected", home_, next_result_++, "c", json));
  }
  void holding(const std::string& user, int64_t issue_no, const std::string& identity) {
    std::string key, value;
    coupon::holding_key(key, "c", user);
    coupon::encode_holding(value, issue_no, identity);
    checker_.add_holding(record("coupon-processor-issued-changelog", home_, next_holding_++, key, value));
  }
  ops::InvariantChecker& checker() { return checker_; }
  int32_t home() const { return home_; }

 private:
  ops::InvariantChecker checker_;
  int32_t home_;
  int64_t next_result_ = 0;
  int64_t next_holding_ = 0;
};

bool has_violation(const ops::VerifyReport& report, const std::string& invariant) {
  for (const auto& v : report.violations) {
    if (v.invariant == invariant) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("verify passes a consistent world and cross-checks the changelog") {
  World w;
  w.request(0, "u0");
  w.request(1, "u1");
  w.request(2, "u2");
  w.answer(0, "u0", true, 1);
  w.answer(1, "u1", true, 2);
  w.answer(2, "u2", false, 0, "SOLD_OUT");
  w.holding("u0", 1, "r0");
  w.holding("u1", 2, "r1");
  const auto report = w.checker().check();
  CHECK_MESSAGE(report.verdict() == ops::Verdict::kPass, ops::format_report(report));
  CHECK(report.holdings == 2);

  SUBCASE("an accepted answer the changelog does not hold is a violation") {
    World v;
    v.request(0, "u0");
    v.answer(0, "u0", true, 1);
    v.holding("other", 1, "r9");
    const auto r = v.checker().check();
    CHECK(r.verdict() == ops::Verdict::kFail);
    CHECK(has_violation(r, "I1"));  // the state would issue it again
    CHECK(has_violation(r, "I3"));  // and it holds a coupon nobody was told of
  }
}

TEST_CASE("verify judges every answer of a request, whatever the order it reads them in") {
  // Request 0 answered twice: once accepted, once rejected (a replay that differed).
  for (const bool accepted_first : {true, false}) {
    CAPTURE(accepted_first);
    World w;
    w.request(0, "u0");
    w.request(1, "u0");  // the same user under another identity
    if (accepted_first) w.answer(0, "u0", true, 1);
    w.answer(0, "u0", false, 0, "SOLD_OUT");
    if (!accepted_first) w.answer(0, "u0", true, 1);
    w.answer(1, "u0", true, 2);  // a second identity accepted for u0
    const auto report = w.checker().check();
    CHECK(report.verdict() == ops::Verdict::kFail);
    CHECK(has_violation(report, "I3"));  // answered differently on replay (fixed catalog)
    CHECK(has_violation(report, "I2"));  // u0 accepted under r0 and r1: seen whichever answer came first
    CHECK(report.duplicate_results == 1);
  }
}

TEST_CASE("verify survives hostile DLQ headers and result values") {
  World w;
  w.request(0, "u0");
  w.answer(0, "u0", true, 1);
  w.holding("u0", 1, "r0");
  for (const auto& [partition, offset] : std::vector<std::pair<std::string, std::string>>{
           {"abc", "1"}, {"1", "99999999999999999999999"}, {"", ""}, {"-", "1e3"}, {std::string(100000, '9'), "0"}}) {
    auto r = record("coupon-issuance-dlq", 0, 0, "c", "x");
    r.headers = {{"dlq.reason", "MALFORMED"}, {"dlq.source.topic", "coupon-issuance"},
                 {"dlq.source.partition", partition}, {"dlq.source.offset", offset}};
    w.checker().add_dlq(r);
  }
  w.checker().add_result(record("coupon-issued", 0, 9, "c", std::string(300'000, '[')));
  w.checker().add_result(record("coupon-issued", 0, 10, "c", std::string("\xff\xfe", 2)));
  w.checker().add_result(record("coupon-issued", 0, 11, "c", std::nullopt));
  w.checker().add_holding(record("coupon-processor-issued-changelog", 0, 5, std::nullopt, "x"));
  w.checker().add_holding(record("coupon-processor-issued-changelog", 0, 6, std::string("\xff\xff\xff\xff"), "x"));
  const auto report = w.checker().check();
  CHECK(report.verdict() == ops::Verdict::kFail);  // garbage in the output topics is reported, never a crash
  CHECK(report.violation_count == 10);
}

TEST_CASE("records gone from a result topic make verify say it cannot judge, not blame the processor") {
  World w;
  w.request(0, "u0");
  w.request(1, "u1");  // its answer was in the part of coupon-issued that is gone
  w.answer(0, "u0", true, 2);
  w.holding("u0", 2, "r0");
  w.holding("u1", 1, "r1");
  w.checker().add_truncated(ops::TopicRole::kResults, {"coupon-issued", Partition{w.home()}, Offset{1}, Offset{2}},
                            kPartitions);
  auto report = w.checker().check();
  CHECK_MESSAGE(report.verdict() == ops::Verdict::kCannotVerify, ops::format_report(report));
  CHECK(report.violation_count == 0);  // the missing answer, the gap before #2: not provable
  REQUIRE_FALSE(report.unverifiable.empty());
  CHECK(report.unverifiable.front().find("coupon-issued-" + std::to_string(w.home())) != std::string::npos);
  const std::string json = ops::format_report_json(report);
  CHECK(json.find(R"("verdict":"cannot_verify")") != std::string::npos);
  CHECK(json.find(R"("reason":"coupon-issued-)") != std::string::npos);

  SUBCASE("a violation the remaining records prove still fails") {
    w.request(2, "u0");
    w.answer(2, "u0", true, 3);  // u0 under a second identity: I2 whatever is missing
    report = w.checker().check();
    CHECK(report.verdict() == ops::Verdict::kFail);
    CHECK(has_violation(report, "I2"));
  }
}

TEST_CASE("verify's JSON output is one object with the contract's fields") {
  World w;
  w.request(0, "u0");
  w.answer(0, "u0", true, 1);
  w.request(1, "u1");  // unanswered
  const auto report = w.checker().check();
  const std::string json = ops::format_report_json(report);
  coupon::JsonObjectReader reader;
  std::array<coupon::JsonField, 6> f{coupon::JsonField{"verdict", coupon::JsonType::kString},
                                     coupon::JsonField{"requests", coupon::JsonType::kInt64},
                                     coupon::JsonField{"results", coupon::JsonType::kInt64},
                                     coupon::JsonField{"duplicates", coupon::JsonType::kInt64},
                                     coupon::JsonField{"dlq", coupon::JsonType::kInt64},
                                     coupon::JsonField{"violations", coupon::JsonType::kInt64}};
  REQUIRE_FALSE(reader.read(json, f));
  CHECK(f[0].text == "fail");
  CHECK(f[1].number == 2);
  CHECK(f[2].number == 1);
  CHECK(f[5].number == 1);
  CHECK(json.find(R"("samples":[{"invariant":"I3","message":"request )") != std::string::npos);
  CHECK(json.find("\"reason\"") == std::string::npos);
}

namespace {
struct CliRun {
  int exit_code;
  std::string out;
};
CliRun run_verify(const std::string& bootstrap, const std::string& extra = "") {
  TempDir dir;
  const auto out = dir.path() / "out";
  const std::string command =
      std::string(COUPONFLOW_BIN) + " verify --bootstrap " + bootstrap + " " + extra + " >" + out.string() + " 2>&1";
  const int status = std::system(command.c_str());
  std::ifstream in(out);
  std::stringstream text;
  text << in.rdbuf();
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text.str()};
}
}  // namespace

TEST_CASE("verify exits 0, 1 and 3 on a real broker, and 3 names the topic the broker truncated") {
  EmbeddedCluster cluster(1);
  TempDir state;
  cluster.define("c", 5);
  {
    auto instance = cluster.start(state.path(), "p1");
    EmbeddedCluster::wait_until_running({instance.get()}, 1);
    for (int i = 0; i < 8; ++i) cluster.request("r" + std::to_string(i), "c", "u" + std::to_string(i));
    cluster.flush();
    cluster.wait_for_answers(8);
  }
  auto run = run_verify(cluster.bootstrap());
  CHECK_MESSAGE(run.exit_code == 0, run.out);
  run = run_verify(cluster.bootstrap(), "--output json");
  CHECK_MESSAGE(run.exit_code == 0, run.out);
  CHECK(run.out.starts_with(R"({"verdict":"pass","requests":8,"results":8,)"));

  // The broker drops the oldest results beyond its cap (here: replays of a rejection,
  // padded to 100 KB): verify cannot judge the requests whose answers went with them.
  std::string replay;
  for (const auto& r : cluster.results()) {
    if (!r.accepted) coupon::write_result_json(replay, r);
  }
  REQUIRE_FALSE(replay.empty());
  replay.pop_back();
  replay += R"(,"pad":")" + std::string(100 * 1024, 'x') + "\"}";
  for (int i = 0; i < 60; ++i) {
    cluster.producer().send("coupon-rejected", Partition{0}, Message{std::string("c"), replay, EmbeddedCluster::now(), {}});
  }
  cluster.flush();
  run = run_verify(cluster.bootstrap(), "--output json");
  CHECK_MESSAGE(run.exit_code == 3, run.out);
  CHECK(run.out.find(R"("verdict":"cannot_verify")") != std::string::npos);
  CHECK(run.out.find("coupon-rejected-0: records before offset") != std::string::npos);

  // A result for a request that does not exist: a violation the records prove.
  std::string bogus;
  coupon::write_result_json(bogus, coupon::CouponResult{"ghost", "c", "ux", true, 6, "", std::nullopt, 1, 0, 999});
  cluster.producer().send("coupon-issued", Partition{0}, Message{std::string("c"), bogus, EmbeddedCluster::now(), {}});
  cluster.flush();
  run = run_verify(cluster.bootstrap());
  CHECK_MESSAGE(run.exit_code == 1, run.out);
  CHECK(run.out.find("answers no request") != std::string::npos);

  // A cluster that cannot be read at all: 3 as well, with the reason.
  run = run_verify("127.0.0.1:1", "-X socket.timeout.ms=1000 --output json");
  CHECK_MESSAGE(run.exit_code == 3, run.out);
  CHECK(run.out.find(R"("verdict":"cannot_verify")") != std::string::npos);
  // A usage error is 2.
  CHECK(run_verify(cluster.bootstrap(), "--output yaml").exit_code == 2);
  CHECK(run_verify(cluster.bootstrap(), "-X no.such.property=1").exit_code == 2);
}
