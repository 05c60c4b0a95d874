// couponflow api (contract v2, "HTTP ingress and queries"): the seeds' HTTP flow, queries
// answered by the instance that owns the partition, and every error status.

#include <doctest/doctest.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <map>
#include <thread>

#include "common/murmur2.h"
#include "ops/api/api_service.h"
#include "ops/api/instance_claim.h"
#include "ops/api/instance_endpoints.h"
#include "ops/fleet.h"
#include "ops/http/http_get.h"
#include "ops/http/http_server.h"
#include "tests/support/embedded_cluster.h"
#include "tests/support/fleet_checks.h"
#include "tests/support/temp_dir.h"
#include "topology/coupon/json_object.h"

using namespace couponflow;
using namespace couponflow::testing;

namespace {

// One processor instance with its HTTP endpoints (what `couponflow process` runs).
struct ServedInstance {
  std::unique_ptr<ProcessorInstance> processor;
  std::unique_ptr<ops::InstanceEndpoints> endpoints;

  ServedInstance(EmbeddedCluster& cluster, const std::filesystem::path& dir, const std::string& name)
      : processor(cluster.start(dir / name, name)),
        endpoints(std::make_unique<ops::InstanceEndpoints>(
            processor->instance(), std::make_shared<prometheus::Registry>(), cluster.client(),
            ops::InstanceEndpointsOptions{.listen = "127.0.0.1:0", .instance_id = name})) {}
  /// A graceful stop: leave the group, then withdraw the claims.
  void stop() {
    processor->stop();
    endpoints.reset();
  }
};

ops::AppConfig api_config(int request_timeout_ms = 5'000) {
  ops::AppConfig config;
  config.api.request_timeout_ms = request_timeout_ms;
  return config;
}

struct Api {
  std::unique_ptr<ops::ApiService> service;
  std::string address;
  Api(EmbeddedCluster& cluster, const ops::AppConfig& config = api_config())
      : service(std::make_unique<ops::ApiService>(config, cluster.client(), "127.0.0.1:0")),
        address(fmt::format("127.0.0.1:{}", service->port())) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!service->ready()) {
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ops::HttpAnswer get(const std::string& path) const { return ops::http_get(address, path, 35'000); }
  ops::HttpAnswer post(const std::string& path, const std::string& body) const {
    return ops::http_call("POST", address, path, body, 35'000);
  }
  ops::HttpAnswer call(const std::string& method, const std::string& path, const std::string& body = "") const {
    return ops::http_call(method, address, path, body, 35'000);
  }
};

// The integer field `name` of a JSON object (fails the test if absent).
int64_t json_int(const std::string& json, std::string_view name) {
  coupon::JsonObjectReader reader;
  std::array<coupon::JsonField, 1> field{coupon::JsonField{name, coupon::JsonType::kInt64}};
  REQUIRE_MESSAGE(!reader.read(json, field), json);
  REQUIRE_MESSAGE(field[0].present, name << " missing in " << json);
  return field[0].number;
}

std::string json_text(const std::string& json, std::string_view name) {
  coupon::JsonObjectReader reader;
  std::array<coupon::JsonField, 1> field{coupon::JsonField{name, coupon::JsonType::kString}};
  REQUIRE_MESSAGE(!reader.read(json, field), json);
  return field[0].text;
}

// Asks until the answer is not 503 (an instance restoring or a claim not read yet).
ops::HttpAnswer get_settled(const Api& api, const std::string& path, int* unavailable = nullptr) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    ops::HttpAnswer a = api.get(path);
    if (a.status != 503) return a;
    if (unavailable) ++*unavailable;
    CHECK(a.header("Retry-After") == "1");
    REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline, path << " still 503: " << a.body);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace

TEST_CASE("the seeds' concurrency test over HTTP: 100 POSTs at once for 10 coupons give 10 ACCEPTED and 90 SOLD_OUT") {
  EmbeddedCluster cluster(3);
  TempDir dir;
  cluster.define("coupon-10", 10);
  ServedInstance a(cluster, dir.path(), "a");
  EmbeddedCluster::wait_until_running({a.processor.get()}, 3);
  Api api(cluster);

  std::vector<ops::HttpAnswer> answers(100);
  std::vector<std::thread> clients;
  for (int i = 0; i < 100; ++i) {
    clients.emplace_back([&, i] {
      answers[i] = api.post("/api/coupons/coupon-10/issue?wait=20000", fmt::format(R"({{"userId":"user-{}"}})", i));
    });
  }
  for (auto& t : clients) t.join();

  std::vector<int64_t> issue_nos;
  std::vector<std::string> holders;
  int sold_out = 0;
  for (int i = 0; i < 100; ++i) {
    REQUIRE_MESSAGE(answers[i].status == 200, answers[i].status << " " << answers[i].body);
    std::string error;
    const auto result = coupon::parse_result(answers[i].body, error);
    REQUIRE_MESSAGE(result.has_value(), error);
    CHECK(result->user_id == fmt::format("user-{}", i));
    if (result->accepted) {
      issue_nos.push_back(result->issue_no);
      holders.push_back(result->user_id);
    } else {
      CHECK(result->reason == "SOLD_OUT");
      ++sold_out;
    }
    // The same decision is found by its requestId.
    const auto by_id = api.get("/api/requests/" + result->request_id);
    CHECK(by_id.status == 200);
    CHECK(by_id.body == answers[i].body);
  }
  std::sort(issue_nos.begin(), issue_nos.end());
  CHECK(issue_nos == std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  CHECK(sold_out == 90);

  const auto coupon = get_settled(api, "/api/coupons/coupon-10");
  REQUIRE(coupon.status == 200);
  CHECK(json_int(coupon.body, "capacity") == 10);
  CHECK(json_int(coupon.body, "issued") == 10);
  CHECK(json_int(coupon.body, "remaining") == 0);
  for (const auto& user : holders) {
    const auto holder = get_settled(api, "/api/coupons/coupon-10/holders/" + user);
    CHECK_MESSAGE(holder.status == 200, user);
    CHECK(json_text(holder.body, "userId") == user);
  }
  int non_holder = 0;
  for (int i = 0; i < 100; ++i) {
    const std::string user = fmt::format("user-{}", i);
    if (std::find(holders.begin(), holders.end(), user) != holders.end()) continue;
    if (++non_holder > 5) break;
    CHECK(get_settled(api, "/api/coupons/coupon-10/holders/" + user).status == 404);
  }
  CHECK(get_settled(api, "/api/coupons/no-such-coupon").status == 404);
  a.stop();
}

TEST_CASE("a repeated requestId is answered with the first decision, and POST without wait answers 202 at once") {
  EmbeddedCluster cluster(3);
  TempDir dir;
  cluster.define("c1", 1);
  ServedInstance a(cluster, dir.path(), "a");
  EmbeddedCluster::wait_until_running({a.processor.get()}, 3);
  Api api(cluster);

  const auto first = api.post("/api/coupons/c1/issue", R"({"userId":"u1","requestId":"r-1"})");
  REQUIRE(first.status == 202);
  CHECK(json_text(first.body, "status") == "REQUESTED");
  CHECK(json_text(first.body, "requestId") == "r-1");
  const auto again = api.post("/api/coupons/c1/issue?wait=20000", R"({"userId":"u1","requestId":"r-1"})");
  REQUIRE(again.status == 200);
  CHECK(json_text(again.body, "status") == "ACCEPTED");
  CHECK(json_int(again.body, "issueNo") == 1);
  // A generated requestId when none is given.
  const auto generated = api.post("/api/coupons/c1/issue?wait=20000", R"({"userId":"u2"})");
  REQUIRE(generated.status == 200);
  CHECK(!json_text(generated.body, "requestId").empty());
  CHECK(json_text(generated.body, "reason") == "SOLD_OUT");
  a.stop();
}

TEST_CASE("queries follow a partition to its new owner when an instance stops; verify passes") {
  constexpr int kPartitions = 3;
  EmbeddedCluster cluster(kPartitions);
  TempDir dir;
  // Two coupons per partition, so both instances own some.
  const std::vector<std::string> coupons = EmbeddedCluster::coupons_spread(kPartitions, 2, "coupon-");
  for (const auto& c : coupons) cluster.define(c, 50);
  ServedInstance a(cluster, dir.path(), "a");
  ServedInstance b(cluster, dir.path(), "b");
  EmbeddedCluster::wait_until_running({a.processor.get(), b.processor.get()}, kPartitions);
  REQUIRE(!a.processor->status().tasks.empty());
  REQUIRE(!b.processor->status().tasks.empty());
  Api api(cluster);

  std::map<std::string, int64_t> issued;
  for (size_t c = 0; c < coupons.size(); ++c) {
    for (size_t u = 0; u <= c; ++u) {
      const auto r = api.post(fmt::format("/api/coupons/{}/issue?wait=20000", coupons[c]),
                              fmt::format(R"({{"userId":"u{}"}})", u));
      REQUIRE(r.status == 200);
    }
    issued[coupons[c]] = static_cast<int64_t>(c) + 1;
  }
  for (const auto& c : coupons) {
    const auto answer = get_settled(api, "/api/coupons/" + c);
    REQUIRE(answer.status == 200);
    CHECK_MESSAGE(json_int(answer.body, "issued") == issued[c], c);
    CHECK(json_int(answer.body, "remaining") == 50 - issued[c]);
  }

  b.stop();  // its partitions move to a, which restores them
  int unavailable = 0;
  for (const auto& c : coupons) {
    const auto answer = get_settled(api, "/api/coupons/" + c, &unavailable);
    REQUIRE(answer.status == 200);
    CHECK_MESSAGE(json_int(answer.body, "issued") == issued[c], c);
    CHECK(get_settled(api, fmt::format("/api/coupons/{}/holders/u0", c)).status == 200);
  }
  MESSAGE("503 answers while partitions moved: " << unavailable);
  CHECK(a.processor->status().tasks.size() == kPartitions);
  // New requests are decided by the new owner and seen by the queries.
  const auto r = api.post(fmt::format("/api/coupons/{}/issue?wait=20000", coupons.back()), R"({"userId":"late"})");
  REQUIRE(r.status == 200);
  CHECK(json_int(get_settled(api, "/api/coupons/" + coupons.back()).body, "issued") == issued[coupons.back()] + 1);
  a.stop();
  const auto report = cluster.verify();
  CHECK_MESSAGE(report.ok(), ops::format_report(report));
}

TEST_CASE("after a processor is killed, queries answer from the instance that took its partitions over") {
  // SIGKILL: the dead instance never withdraws its claim; its address refuses, and the
  // newer claim of the instance that took the partitions over is asked.
  constexpr int kPartitions = 3;
  EmbeddedCluster cluster(kPartitions);
  TempDir dir;
  const std::vector<std::string> coupons = EmbeddedCluster::coupons_spread(kPartitions, 1, "k");
  for (const auto& c : coupons) cluster.define(c, 10);
  ops::Fleet fleet(COUPONFLOW_BIN, cluster.bootstrap(), dir.path(),
                   {"-X", "consumer.session.timeout.ms=3000", "-X", "consumer.heartbeat.interval.ms=500"});
  fleet.start("a");
  fleet.start("b");
  REQUIRE(fleet.wait_until_settled(kPartitions, std::chrono::seconds(60)));
  Api api(cluster);
  for (const auto& c : coupons) {
    REQUIRE(api.post(fmt::format("/api/coupons/{}/issue?wait=20000", c), R"({"userId":"u1"})").status == 200);
    const auto answer = get_settled(api, "/api/coupons/" + c);
    REQUIRE(answer.status == 200);
    CHECK(json_int(answer.body, "issued") == 1);
  }

  fleet.kill("b");
  int unavailable = 0;
  for (const auto& c : coupons) {
    REQUIRE(api.post(fmt::format("/api/coupons/{}/issue?wait=30000", c), R"({"userId":"u2"})").status == 200);
    const auto answer = get_settled(api, "/api/coupons/" + c, &unavailable);
    REQUIRE(answer.status == 200);
    CHECK_MESSAGE(json_int(answer.body, "issued") == 2, c);
    CHECK(get_settled(api, fmt::format("/api/coupons/{}/holders/u2", c)).status == 200);
  }
  MESSAGE("503 answers after the kill: " << unavailable);
  check_graceful_stop(fleet, "a");
  const auto report = cluster.verify();
  CHECK_MESSAGE(report.ok(), ops::format_report(report));
}

TEST_CASE("every error status: 400, 413, 404, 405, and 503 with Retry-After when no instance runs the partition") {
  EmbeddedCluster cluster(3);
  cluster.define("c1", 5);
  Api api(cluster);  // no processor: queries have nowhere to go

  CHECK(api.post("/api/coupons/c1/issue", "not json").status == 400);
  CHECK(api.post("/api/coupons/c1/issue", R"({"userId":5})").status == 400);
  CHECK(api.post("/api/coupons/c1/issue", R"({"userId":""})").status == 400);
  CHECK(api.post("/api/coupons/c1/issue", R"({"requestId":"r"})").status == 400);
  CHECK(api.post("/api/coupons/c1/issue", R"({"userId":"u","userId":"v"})").status == 400);
  CHECK(api.post("/api/coupons/c1/issue", R"([1,2])").status == 400);
  CHECK(api.post("/api/coupons/c1/issue?wait=30001", R"({"userId":"u"})").status == 400);
  CHECK(api.post("/api/coupons/c1/issue?wait=x", R"({"userId":"u"})").status == 400);
  CHECK(api.post("/api/coupons/%zz/issue", R"({"userId":"u"})").status == 400);
  CHECK(api.post("/api/coupons//issue", R"({"userId":"u"})").status == 400);
  std::string deep(900'000, '[');  // still being sent when the 413 is written
  for (int i = 0; i < 5; ++i) CHECK(api.post("/api/coupons/c1/issue", deep).status == 413);
  std::string nested = std::string(1000, '[') + std::string(1000, ']');
  CHECK(api.post("/api/coupons/c1/issue", R"({"userId":"u","x":)" + nested + "}").status == 400);
  const auto bad = api.post("/api/coupons/c1/issue", "{");
  CHECK(bad.status == 400);
  CHECK(bad.header("Content-Type") == "application/json");
  CHECK(!json_text(bad.body, "error").empty());

  CHECK(api.get("/nope").status == 404);
  CHECK(api.get("/api/coupons/c1/other").status == 404);
  CHECK(api.get("/api/requests/never-seen").status == 404);
  const auto wrong = api.call("DELETE", "/api/coupons/c1");
  CHECK(wrong.status == 405);
  CHECK(wrong.header("Allow") == "GET");
  CHECK(api.get("/api/coupons/c1/issue").status == 405);
  CHECK(api.call("PUT", "/api/requests/r1").status == 405);

  const auto unavailable = api.get("/api/coupons/c1");
  CHECK(unavailable.status == 503);
  CHECK(unavailable.header("Retry-After") == "1");
  CHECK(api.get("/api/coupons/c1/holders/u1").status == 503);
  CHECK(api.get("/healthz").status == 200);
  CHECK(api.get("/readyz").status == 200);
  CHECK(api.get("/metrics").body.find("couponflow_api_responses_total") != std::string::npos);
  CHECK(api.get("/api/coupons").body == R"({"coupons":["c1"]})");
}

TEST_CASE("a long poll acknowledged by the broker waits its whole wait, beyond the request timeout, then answers 202") {
  EmbeddedCluster cluster(3);
  Api api(cluster, api_config(/*request_timeout_ms=*/1'000));  // no processor: no decision comes
  const auto start = std::chrono::steady_clock::now();
  const auto answer = api.post("/api/coupons/c1/issue?wait=2500", R"({"userId":"u1","requestId":"r-1"})");
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(answer.status == 202);
  CHECK(json_text(answer.body, "status") == "REQUESTED");
  CHECK(took >= std::chrono::milliseconds(2'500));
  CHECK(took < std::chrono::milliseconds(5'000));
}

TEST_CASE("queries waiting for a stalled instance are bounded: one more is answered 503 at once") {
  EmbeddedCluster cluster(1);
  cluster.define("c1", 5);
  // An "instance" that claims partition 0 and holds every query it gets.
  std::mutex held_mutex;
  std::vector<ops::HttpRespond> held;
  ops::HttpServer stalled("127.0.0.1:0", [&](ops::HttpRequest&&, ops::HttpRespond respond) {
    std::lock_guard lock(held_mutex);
    held.push_back(std::move(respond));
  });
  const std::string address = fmt::format("127.0.0.1:{}", stalled.port());
  kafka::KafkaProducer producer(cluster.client());
  const std::string claim = ops::encode_claim({"stalled", address, 1, {{0, 1}}, {}});
  producer.send("coupon-processor-instances", std::nullopt, Message{std::string_view("stalled"), claim, 1, {}});
  producer.flush(10'000);
  ops::AppConfig config = api_config();
  config.api.max_waiting_queries = 2;
  config.api.query_timeout_ms = 20'000;
  Api api(cluster, config);  // ready: it has read the claim

  std::vector<std::thread> waiting;
  std::vector<int> statuses(2, 0);
  for (int i = 0; i < 2; ++i) waiting.emplace_back([&, i] { statuses[i] = api.get("/api/coupons/c1").status; });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    {
      std::lock_guard lock(held_mutex);
      if (held.size() == 2) break;
    }
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const auto start = std::chrono::steady_clock::now();
  const auto refused = api.get("/api/coupons/c1");
  CHECK(refused.status == 503);
  CHECK(refused.header("Retry-After") == "1");
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
  {
    std::lock_guard lock(held_mutex);
    for (auto& respond : held) respond(ops::HttpResponse::json(200, R"({"couponId":"c1"})"));
  }
  for (auto& t : waiting) t.join();
  CHECK(statuses == std::vector<int>{200, 200});
  stalled.stop();
}

TEST_CASE("a broker outage turns POSTs into 503 within the request timeout, and the api recovers when it returns") {
  EmbeddedCluster cluster(3);
  Api api(cluster, api_config(/*request_timeout_ms=*/1'500));
  REQUIRE(api.post("/api/coupons/c1/issue", R"({"userId":"u1"})").status == 202);

  cluster.broker().set_broker_down(1);
  const auto start = std::chrono::steady_clock::now();
  const auto during = api.post("/api/coupons/c1/issue", R"({"userId":"u2","requestId":"r-2"})");
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(during.status == 503);
  CHECK(during.header("Retry-After") == "1");
  CHECK(took >= std::chrono::milliseconds(1'500));
  CHECK(took < std::chrono::milliseconds(1'500 + 500));
  MESSAGE("503 after " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  // librdkafka's own message timeout fails the record up to a second later: that second
  // outcome answers nothing and is not counted again.
  std::this_thread::sleep_for(std::chrono::milliseconds(2'000));
  const std::string metrics = api.get("/metrics").body;
  CHECK(ops::metric_sample(metrics, R"(couponflow_api_responses_total{code="503",route="/api/coupons/{couponId}/issue"})") == 1);
  CHECK(ops::metric_sample(metrics, R"(couponflow_api_responses_total{code="202",route="/api/coupons/{couponId}/issue"})") == 1);

  cluster.broker().set_broker_up(1);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  int status = 0;
  while ((status = api.post("/api/coupons/c1/issue", R"({"userId":"u2","requestId":"r-2"})").status) != 202) {
    REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline, "still " << status);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}
