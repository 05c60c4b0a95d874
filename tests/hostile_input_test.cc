// Hostile input is normal input: a table of malformed, oversized, deeply nested,
// misplaced and binary requests and catalog records, each with its contract outcome,
// live and again after the instance's state is wiped and rebuilt, with the processor
// alive throughout and verify passing (exit 0) at the end.

#include <doctest/doctest.h>

#include <sys/wait.h>

#include <map>

#include "common/murmur2.h"
#include "common/parse_number.h"
#include "tests/support/embedded_cluster.h"

using namespace couponflow;
using namespace couponflow::testing;

namespace {

constexpr int32_t kPartitions = 4;

std::string nested(size_t levels) {
  // The value of a top-level field that makes the object nest `levels` levels in all.
  return std::string(levels - 1, '[') + std::string(levels - 1, ']');
}

struct HostileRequest {
  const char* name;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::string outcome;  // a DLQ reason, "ACCEPTED", or a reject reason
  std::optional<Partition> partition;  // default: the key's (or couponId's) own
};

/// The requests, for coupon `c` (defined) and users unique to round `round`.
std::vector<HostileRequest> hostile_requests(int round) {
  const std::string u = fmt::format("-{}", round);
  auto req = [&](std::string_view fields) { return fmt::format(R"({{"couponId":"c",{}}})", fields); };
  const Partition home = murmur2_partition("c", kPartitions);
  const Partition elsewhere{(home.value + 1) % kPartitions};
  return {
      {"a tombstone", "c", std::nullopt, "MALFORMED"},
      {"an empty value", "c", "", "MALFORMED"},
      {"no key", std::nullopt, req(R"("userId":"a)" + u + "\""), "MISROUTED", home},
      {"an empty key", "", req(R"("userId":"b)" + u + "\""), "MISROUTED", home},
      {"a 100 KB key", std::string(100'000, 'k'), req(R"("userId":"d)" + u + "\""), "MISROUTED", home},
      {"a 950 KB key (its DLQ entry leaves it out)", std::string(950'000, 'k'), req(R"("userId":"e)" + u + "\""),
       "MISROUTED", home},
      {"binary", "c", std::string("\x00\xff\x10\x80", 4), "MALFORMED"},
      {"invalid UTF-8", "c", req("\"userId\":\"\xc3\x28\""), "MALFORMED"},
      {"a raw NUL inside a string", "c", req(std::string("\"userId\":\"f\0g\"", 14)), "MALFORMED"},
      {"an escaped NUL inside a string", "c", req(R"("requestId":"nul)" + u + R"(","userId":"h\u0000i)" + u + "\""),
       "ACCEPTED"},
      {"U+2028 inside a string", "c", req("\"requestId\":\"ls" + u + "\",\"userId\":\"j\xe2\x80\xa8" + u + "\""),
       "ACCEPTED"},
      {"a known field twice", "c", req(R"("userId":"k","userId":"l")"), "MALFORMED"},
      {"an unknown field twice", "c", req(R"("userId":"m","z":1,"z":2)"), "MALFORMED"},
      {"couponId of the wrong type", "c", R"({"couponId":7,"userId":"n"})", "INVALID_FIELD"},
      {"requestedAt beyond 64 bits", "c", req(R"("userId":"o","requestedAt":99999999999999999999)"), "INVALID_FIELD"},
      {"a fractional requestedAt", "c", req(R"("userId":"p","requestedAt":1.5)"), "INVALID_FIELD"},
      {"nesting at the limit", "c",
       req(R"("requestId":"deep)" + u + R"(","userId":"q)" + u + R"(","x":)" + nested(32)), "ACCEPTED"},
      {"nesting beyond the limit", "c", req(R"("userId":"r","x":)" + nested(33)), "MALFORMED"},
      {"200,000 levels (400 KB)", "c", req(R"("userId":"s","x":)" + nested(200'000)), "TOO_LARGE"},
      {"trailing content", "c", req(R"("userId":"t")") + " {}", "MALFORMED"},
      {"a value over 16 KiB", "c", req(R"("userId":"v","pad":")" + std::string(17'000, 'x') + "\""), "TOO_LARGE"},
      {"a 920 KB value (its DLQ entry leaves it out)", "c",
       req(R"("userId":"w","pad":")" + std::string(920'000, 'x') + "\""), "TOO_LARGE"},
      {"in a partition its coupon does not map to", "c", req(R"("userId":"x)" + u + "\""), "MISROUTED", elsewhere},
      {"a key other than its couponId", "other", req(R"("userId":"y)" + u + "\""), "MISROUTED", home},
      {"a numeric requestId", "c", req(R"("requestId":5,"userId":"z")"), "INVALID_FIELD"},
      {"an empty userId", "c", req(R"("userId":"")"), "INVALID_FIELD"},
      {"no userId", "c", R"({"couponId":"c"})", "MISSING_FIELD"},
      {"a JSON array", "c", R"([{"couponId":"c","userId":"aa"}])", "MALFORMED"},
      {"an unknown coupon", "nope", R"({"couponId":"nope","userId":"ab)" + u + "\"}", "UNKNOWN_COUPON"},
      {"a valid request", "c", req(R"("requestId":"ok)" + u + R"(","userId":"ac)" + u + "\""), "ACCEPTED"},
  };
}

struct HostileCatalog {
  const char* name;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::optional<Partition> partition;
};

std::vector<HostileCatalog> hostile_catalog() {
  const Partition home = murmur2_partition("c", kPartitions);
  const Partition elsewhere{(home.value + 1) % kPartitions};
  auto def = [](std::string_view fields) { return fmt::format(R"({{"couponId":"c",{}}})", fields); };
  return {
      {"no key", std::nullopt, def(R"("capacity":1)"), home},
      {"an empty key", "", R"({"couponId":"","capacity":1})", home},
      {"a tombstone without a key", std::nullopt, std::nullopt, home},
      {"binary", "c", std::string("\x00\x9f\xff\x01", 4)},
      {"not UTF-8", "c", def("\"capacity\":1,\"n\":\"\xc3\x28\"")},
      {"oversized", "c", def(R"("capacity":1,"pad":")" + std::string(17'000, 'x') + "\"")},
      {"200,000 levels (400 KB)", "c", def(R"("capacity":1,"x":)" + nested(200'000))},
      {"nesting beyond the limit", "c", def(R"("capacity":1,"x":)" + nested(40))},
      {"capacity as text", "c", def(R"("capacity":"lots")")},
      {"capacity beyond 64 bits", "c", def(R"("capacity":99999999999999999999)")},
      {"a negative capacity", "c", def(R"("capacity":-1)")},
      {"no capacity", "c", R"({"couponId":"c"})"},
      {"couponId other than the key", "c", R"({"couponId":"d","capacity":1})"},
      {"a field twice", "c", def(R"("capacity":1,"capacity":2)")},
      {"trailing content", "c", def(R"("capacity":1)") + "x"},
      {"misplaced by murmur2", "c", def(R"("capacity":1)"), elsewhere},
      {"a misplaced tombstone", "c", std::nullopt, elsewhere},
  };
}

/// Each request record's outcome: its DLQ reason or its result's status/reason.
std::map<std::pair<int32_t, int64_t>, std::string> outcomes(EmbeddedCluster& cluster) {
  std::map<std::pair<int32_t, int64_t>, std::string> out;
  for (const auto& r : cluster.dlq()) {
    const auto p = parse_number<int32_t>(r.header("dlq.source.partition"));
    const auto o = parse_number<int64_t>(r.header("dlq.source.offset"));
    REQUIRE((p && o));
    out[{*p, *o}] = std::string(r.header("dlq.reason").value_or("?"));
  }
  for (const auto& r : cluster.results()) out[{r.partition, r.offset}] = r.accepted ? "ACCEPTED" : r.reason;
  return out;
}

/// Sends one round of the table; returns where each landed.
std::vector<std::pair<int32_t, int64_t>> send_round(EmbeddedCluster& cluster, int round) {
  std::vector<std::pair<int32_t, int64_t>> positions;
  kafka::KafkaProducer producer(cluster.client().set("message.max.bytes", "2000000"));
  for (const auto& r : hostile_requests(round)) {
    const Partition p = r.partition ? *r.partition : murmur2_partition(r.key.value_or(""), kPartitions);
    producer.send("coupon-issuance", p, Message{r.key, r.value, EmbeddedCluster::now(), {}});
    producer.flush(10'000);
    kafka::KafkaConsumer reader(cluster.client(), "hostile-test", nullptr);
    positions.emplace_back(p.value, reader.query_watermarks({"coupon-issuance", p}, 5000).high.value - 1);
  }
  return positions;
}

}  // namespace

TEST_CASE("hostile requests and catalog records get their contract outcome, live and after a wiped-state restore") {
  EmbeddedCluster cluster(kPartitions);
  TempDir first_state, second_state;
  cluster.define("c", 1000);
  {
    kafka::KafkaProducer producer(cluster.client());
    for (const auto& c : hostile_catalog()) {
      const Partition p = c.partition ? *c.partition : murmur2_partition(c.key.value_or(""), kPartitions);
      producer.send("coupon-catalog", p, Message{c.key, c.value, EmbeddedCluster::now(), {}});
    }
    producer.flush(10'000);
  }
  const auto table = hostile_requests(0);
  REQUIRE(table.size() >= 25);

  auto check_round = [&](const std::vector<std::pair<int32_t, int64_t>>& positions, int round) {
    const auto got = outcomes(cluster);
    const auto expected = hostile_requests(round);
    for (size_t i = 0; i < expected.size(); ++i) {
      const std::string name = expected[i].name;
      CAPTURE(name);
      auto it = got.find(positions[i]);
      REQUIRE(it != got.end());
      CHECK(it->second == expected[i].outcome);
    }
  };

  auto instance = cluster.start(first_state.path(), "p1");
  EmbeddedCluster::wait_until_running({instance.get()}, kPartitions);
  const auto first = send_round(cluster, 0);
  cluster.wait_until_all_answered();
  CHECK_FALSE(instance->done());
  check_round(first, 0);
  // The entries too large to carry their original key or value say what they left out.
  int omitted = 0;
  for (const auto& r : cluster.dlq()) omitted += r.header("dlq.omitted").has_value() ? 1 : 0;
  CHECK(omitted == 2);
  instance->stop();
  CHECK(instance->error().empty());

  // Wiped: the catalog and the holdings are rebuilt from their topics, the same records
  // skipped, and the table is answered the same way again.
  instance = cluster.start(second_state.path(), "p1");
  EmbeddedCluster::wait_until_running({instance.get()}, kPartitions);
  const auto second = send_round(cluster, 1);
  cluster.wait_until_all_answered();
  CHECK_FALSE(instance->done());
  check_round(second, 1);
  // And a replay of round 0's accepted requests finds them held: the same issueNos.
  std::map<std::string, int64_t> issued;
  for (const auto& r : cluster.results()) {
    if (r.accepted) issued[r.request_id] = r.issue_no;
  }
  cluster.request("ok-0", "c", "ac-0");
  cluster.flush();
  cluster.wait_until_all_answered();
  int64_t replayed = 0;
  for (const auto& r : cluster.results()) {
    if (r.request_id == "ok-0") replayed = std::max(replayed, r.issue_no);
  }
  CHECK(replayed == issued.at("ok-0"));
  instance->stop();
  CHECK(instance->error().empty());

  const auto report = cluster.verify();
  CHECK_MESSAGE(report.ok(), ops::format_report(report));
  const std::string command = std::string(COUPONFLOW_BIN) + " verify --bootstrap " + cluster.bootstrap() + " >/dev/null 2>&1";
  const int status = std::system(command.c_str());
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
