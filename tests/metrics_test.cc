// Metrics (docs/metrics.md): what is counted, how it reaches Prometheus' text format,
// and readiness while a large store restores.

#include <doctest/doctest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <fstream>
#include <sstream>

#include "common/build_info.h"
#include "common/murmur2.h"
#include "ops/http/http_get.h"
#include "ops/http/status_server.h"
#include "processor/kafka/client_statistics.h"
#include "processor/metrics/thread_metrics.h"
#include "tests/support/coupon_fixture.h"
#include "tests/support/embedded_cluster.h"

using namespace couponflow;
using namespace couponflow::testing;
using couponflow::ops::http_get;
using couponflow::ops::HttpAnswer;
using couponflow::ops::metric_sample;
using couponflow::ops::metric_sum;

namespace {

std::string scrape(prometheus::Registry& registry) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry.Collect());
  return out.str();
}

}  // namespace

TEST_CASE("thread metrics reach the registry as counters, histograms and removable gauges") {
  auto registry = std::make_shared<prometheus::Registry>();
  processor::ThreadMetrics m(registry);
  auto& c = m.counter("t_things_total", "things", {{"kind", "a"}});
  CHECK(&c == &m.counter("t_things_total", "things", {{"kind", "a"}}));  // same name and labels, same cell
  auto& h = m.histogram("t_latency_seconds", "latency", {}, {0.1, 1});
  auto& g = m.gauge("t_level", "level", {{"p", "0"}});
  c.add(3);
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  g.set(7);
  CHECK(scrape(*registry).find("t_things_total") == std::string::npos);  // nothing before publish
  m.publish();
  std::string text = scrape(*registry);
  CHECK(metric_sample(text, "t_things_total{kind=\"a\"}") == 3);
  CHECK(metric_sample(text, "t_latency_seconds_bucket{le=\"0.1\"}") == 1);
  CHECK(metric_sample(text, "t_latency_seconds_bucket{le=\"1\"}") == 2);
  CHECK(metric_sample(text, "t_latency_seconds_bucket{le=\"+Inf\"}") == 3);
  CHECK(metric_sample(text, "t_latency_seconds_sum") == doctest::Approx(5.55));
  CHECK(metric_sample(text, "t_level{p=\"0\"}") == 7);

  c.add(2);
  h.observe(0.01);
  m.publish();
  m.publish();  // nothing new: nothing counted twice
  text = scrape(*registry);
  CHECK(metric_sample(text, "t_things_total{kind=\"a\"}") == 5);
  CHECK(metric_sample(text, "t_latency_seconds_count") == 4);
  CHECK(h.total() == 4);

  m.remove(g);
  CHECK(m.find_gauge("t_level", {{"p", "0"}}) == nullptr);
  CHECK(metric_sample(scrape(*registry), "t_level{p=\"0\"}") == -1);
}

TEST_CASE("the coupon topology counts decisions by status and reason, dead letters by reason, and what is left") {
  CouponFixture f;
  f.define("c", 2);
  f.request("r1", "c", "u1");
  f.request("r1", "c", "u1");  // an idempotent replay: counted again, as it is emitted again
  f.request("r2", "c", "u1");  // ALREADY_ISSUED
  f.request("r3", "c", "u2");
  f.request("r4", "c", "u3");  // SOLD_OUT
  f.request("r5", "nope", "u1");
  f.driver().pipe(f.topics().issuance, "c", std::string("{not json"), 3000);
  f.driver().pipe(f.topics().issuance, "other-key", coupon::request_json("r6", "c", "u9", 3000), 3000);
  CHECK(f.driver().read_output(f.topics().dlq).size() == 2);
  const auto& m = f.driver().metrics();
  const std::string d = "couponflow_decisions_total";
  CHECK(m.counter_value(d, {{"status", "ACCEPTED"}, {"reason", ""}}) == 3);
  CHECK(m.counter_value(d, {{"status", "REJECTED"}, {"reason", "ALREADY_ISSUED"}}) == 1);
  CHECK(m.counter_value(d, {{"status", "REJECTED"}, {"reason", "SOLD_OUT"}}) == 1);
  CHECK(m.counter_value(d, {{"status", "REJECTED"}, {"reason", "UNKNOWN_COUPON"}}) == 1);
  CHECK(m.counter_sum(d) == 6);
  CHECK(m.counter_value("couponflow_dlq_records_total", {{"reason", "MALFORMED"}}) == 1);
  CHECK(m.counter_value("couponflow_dlq_records_total", {{"reason", "MISROUTED"}}) == 1);
  CHECK(m.counter_sum("couponflow_dlq_records_total") == 2);
  CHECK(m.counter_value("couponflow_records_processed_total", {{"topic", "coupon-issuance"}, {"partition", "0"}}) == 8);
  CHECK(m.counter_value("couponflow_records_processed_total", {{"topic", "coupon-catalog"}, {"partition", "0"}}) == 1);
  const auto* left = m.find_gauge("couponflow_coupon_remaining", {{"coupon", "c"}});
  REQUIRE(left != nullptr);
  CHECK(left->value() == 0);
  CHECK(m.find_gauge("couponflow_coupon_remaining", {{"coupon", "nope"}}) == nullptr);  // not in the catalog

  // Raising the capacity shows at the next decision.
  f.define("c", 5, std::nullopt, std::nullopt, 4000);
  f.request("r7", "c", "u7", 5000);
  CHECK(f.driver().metrics().find_gauge("couponflow_coupon_remaining", {{"coupon", "c"}})->value() == 2);  // 5 - 3
}

TEST_CASE("per-coupon series stay bounded, show every coupon from the task's start, and leave with the task") {
  CouponFixture f;
  for (int i = 0; i < 150; ++i) {
    const std::string id = fmt::format("c{}", i);
    f.define(id, 10);
    f.request("r" + id, id, "u");
  }
  const auto& m = f.driver().metrics();
  CHECK(m.gauge_count("couponflow_coupon_remaining") == 100);  // the default cap

  CouponFixture g;
  g.define("a", 5);
  g.define("b", 7);
  g.request("r1", "a", "u1");
  g.driver().commit();
  g.driver().crash(Partition{0});  // reopened: the series come back from the catalog, before any request
  CHECK(g.driver().metrics().find_gauge("couponflow_coupon_remaining", {{"coupon", "a"}})->value() == 4);
  CHECK(g.driver().metrics().find_gauge("couponflow_coupon_remaining", {{"coupon", "b"}})->value() == 7);

  processor::ThreadMetrics thread;
  {
    processor::TaskMetrics task(thread, {TopicPartition{"t", Partition{0}}}, 2);
    auto& remaining = task.keyed_gauge("couponflow_coupon_remaining", "left", "coupon");
    remaining.set("x", 1);
    remaining.set("y", 2);
    remaining.set("z", 3);  // over the cap: ignored
    CHECK(thread.gauge_count("couponflow_coupon_remaining") == 2);
  }
  CHECK(thread.gauge_count("couponflow_coupon_remaining") == 0);  // the task closed
}

TEST_CASE("/readyz says restoring while a large store restores, then ready; /healthz stays up") {
  constexpr int kPartitions = 2;
  constexpr int kRequests = 16'000;
  EmbeddedCluster cluster(kPartitions);
  std::vector<std::string> coupons;
  for (int i = 0; i < 8; ++i) {
    coupons.push_back(fmt::format("big-{}", i));
    cluster.define(coupons.back(), 1'000'000);
  }
  {
    TempDir first;
    auto instance = cluster.start(first.path(), "p1");
    for (int i = 0; i < kRequests; ++i) {
      cluster.request(fmt::format("r{}", i), coupons[i % coupons.size()], fmt::format("u{}", i));
    }
    cluster.flush();
    cluster.wait_until_all_answered();
    instance->stop();
  }  // its state directory is gone: the next instance restores everything
  // The changelog holds the holdings and, with them, the input positions recorded at
  // each commit (how many depends on timing).
  uint64_t changelog_records = 0;
  kafka::read_topics(cluster.client(), {"coupon-processor-issued-changelog"},
                     [&](kafka::ReadRecord&&) { ++changelog_records; });
  REQUIRE(changelog_records > kRequests);

  // Small fetches from a slow broker: the restore takes seconds, long enough to watch.
  cluster.broker().set_broker_rtt(1, 25);
  TempDir second;
  auto config = cluster.config(second.path(), "p2");
  config.consumer.set("max.partition.fetch.bytes", "16384");
  auto registry = std::make_shared<prometheus::Registry>();
  ProcessorInstance instance(cluster.topology(), config, registry);
  ops::StatusServer server(
      "127.0.0.1:0", registry, [] { return ops::Probe{true, ""}; },
      [&instance] {
        const auto s = instance.status();
        return ops::Probe{s.ready(), s.not_ready_reason()};
      });

  bool saw_restoring = false, saw_remaining = false;
  int health_failures = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  HttpAnswer ready;
  for (;;) {
    REQUIRE_MESSAGE(!instance.done(), instance.error());
    REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline, "never ready: " << ready.body);
    health_failures += http_get(server.port(), "/healthz").status == 200 ? 0 : 1;
    ready = http_get(server.port(), "/readyz");
    if (ready.status == 200) break;
    CHECK(ready.status == 503);
    if (ready.body.find("restoring") != std::string::npos) {
      saw_restoring = true;
      const auto metrics = http_get(server.port(), "/metrics").body;
      saw_remaining = saw_remaining || metric_sum(metrics, "couponflow_restore_remaining_records") > 0;
      CHECK(metric_sample(metrics, "couponflow_ready") == 0);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(saw_restoring);
  CHECK(saw_remaining);
  CHECK(health_failures == 0);
  CHECK(ready.body == "ready\n");
  // Everything the first instance wrote was restored; once ready it stays ready.
  std::string metrics;
  for (int i = 0; i < 20; ++i) {
    metrics = http_get(server.port(), "/metrics").body;
    if (metric_sample(metrics, "couponflow_ready") == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(metric_sample(metrics, "couponflow_ready") == 1);
  CHECK(metric_sample(metrics, "couponflow_restored_records_total{store=\"issued\"}") == changelog_records);
  CHECK(metric_sum(metrics, "couponflow_restore_remaining_records") == 0);
  CHECK(metric_sample(metrics, "couponflow_restore_duration_seconds_count{store=\"issued\"}") == kPartitions);
  CHECK(metric_sample(metrics, "couponflow_assigned_partitions") == kPartitions);
  CHECK(http_get(server.port(), "/readyz").status == 200);
  instance.stop();
}

TEST_CASE("every /metrics endpoint carries the process's own series and the build") {
  auto registry = std::make_shared<prometheus::Registry>();
  ops::StatusServer server(
      "127.0.0.1:0", registry, [] { return ops::Probe{true, ""}; }, [] { return ops::Probe{true, ""}; });
  // Some CPU time to show, and a file descriptor to count.
  volatile uint64_t spin = 0;
  for (uint64_t i = 0; i < 50'000'000; ++i) spin = spin + i;
  TempDir dir;
  std::ofstream open_file(dir.path() / "held-open");
  const auto text = http_get(server.port(), "/metrics").body;
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();

  CHECK(metric_sample(text, "process_cpu_seconds_total") > 0);
  CHECK(metric_sample(text, "process_resident_memory_bytes") > 1e6);
  CHECK(metric_sample(text, "process_virtual_memory_bytes") >= metric_sample(text, "process_resident_memory_bytes"));
  const double started = metric_sample(text, "process_start_time_seconds");
  CHECK(started <= now + 1);
  CHECK(started > now - 24 * 3600);
  CHECK(metric_sample(text, "process_open_fds") >= 4);  // stdio, the listener, the file
  CHECK(metric_sample(text, "process_max_fds") >= metric_sample(text, "process_open_fds"));
  CHECK(text.find("# TYPE process_cpu_seconds_total counter") != std::string::npos);
  CHECK(metric_sample(text, fmt::format("couponflow_build_info{{version=\"{}\",revision=\"{}\",allocator=\"{}\"}}",
                                        build_version(), build_revision(), allocator_in_use())) == 1);
  CHECK(build_revision() != "");
}

extern "C" int mallctl(const char* name, void* oldp, size_t* oldlenp, void* newp, size_t newlen) __attribute__((weak));

TEST_CASE("the process runs on the allocator the build chose, configured as the build says") {
  // A link order that let libc's malloc win would silently lose what jemalloc buys.
  const std::string in_use = allocator_in_use();
  CHECK(in_use.substr(0, in_use.find(' ')) == configured_allocator());
  if (configured_allocator() != "jemalloc") return;
  CHECK(in_use.size() > std::string("jemalloc ").size());
  // common/jemalloc_config.cc reached jemalloc: it purges on threads of its own.
  REQUIRE(mallctl != nullptr);
  bool background = false;
  size_t size = sizeof background;
  REQUIRE(mallctl("opt.background_thread", &background, &size, nullptr, 0) == 0);
  CHECK(background);
}

TEST_CASE("librdkafka statistics become per-broker and per-client metrics, counters carried across handles") {
  auto registry = std::make_shared<prometheus::Registry>();
  kafka::ClientStatistics statistics(registry);
  // Shaped as librdkafka's STATISTICS.md documents (fields we do not read left out).
  auto producer = [](int txerrs, int retries) {
    return fmt::format(R"({{"name":"p1#producer-1","client_id":"p1","type":"producer","msg_cnt":42,"msg_size":4200,
      "brokers":{{
        "127.0.0.1:9092/bootstrap":{{"name":"127.0.0.1:9092/bootstrap","nodeid":-1,"source":"configured","state":"INIT","txerrs":5}},
        "127.0.0.1:39000/1":{{"name":"127.0.0.1:39000/1","nodeid":1,"source":"learned","state":"UP",
          "txerrs":{},"rxerrs":1,"txretries":{},"req_timeouts":0,
          "rtt":{{"min":100,"max":9000,"avg":800,"p50":700,"p99":8000,"cnt":12}}}},
        "GroupCoordinator":{{"name":"GroupCoordinator","nodeid":1,"source":"logical","state":"UP"}},
        "127.0.0.1:39001/2":{{"name":"127.0.0.1:39001/2","nodeid":2,"source":"configured","state":"DOWN",
          "txerrs":0,"rxerrs":0,"txretries":0,"req_timeouts":3,"rtt":{{"cnt":0,"p50":0,"p99":0}}}}}}}})",
                       txerrs, retries);
  };
  statistics.ingest("producer", producer(2, 5));
  statistics.ingest("producer", producer(4, 5));
  statistics.ingest("producer", producer(1, 1));  // a new handle: its counts add on
  statistics.ingest("consumer", R"({"type":"consumer","brokers":{},"topics":{"coupon-issuance":{"partitions":{
      "0":{"partition":0,"fetch_state":"active"},"1":{"partition":1,"fetch_state":"active"},
      "2":{"partition":2,"fetch_state":"offset-wait"},"3":{"partition":3,"fetch_state":"none"},
      "-1":{"partition":-1,"fetch_state":"none"}}}}})");
  statistics.ingest("consumer", "not json");  // ignored

  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry->Collect());
  const std::string text = out.str();
  CHECK(metric_sample(text, R"(couponflow_kafka_producer_queue_messages{client="producer"})") == 42);
  CHECK(metric_sample(text, R"(couponflow_kafka_producer_queue_bytes{client="producer"})") == 4200);
  CHECK(metric_sample(text, R"(couponflow_kafka_broker_connected{broker="1",client="producer"})") == 1);
  CHECK(metric_sample(text, R"(couponflow_kafka_broker_rtt_seconds{broker="1",client="producer",quantile="0.99"})") ==
        doctest::Approx(0.008));
  CHECK(metric_sample(text, R"(couponflow_kafka_broker_rtt_seconds{broker="1",client="producer",quantile="0.5"})") ==
        doctest::Approx(0.0007));
  // 2+1, then 4+1 (+2), then a new handle at 1+1 (+2).
  CHECK(metric_sample(text, R"(couponflow_kafka_broker_request_errors_total{broker="1",client="producer"})") == 7);
  CHECK(metric_sample(text, R"(couponflow_kafka_broker_request_retries_total{broker="1",client="producer"})") == 6);
  CHECK(text.find("broker=\"-1\"") == std::string::npos);  // an unnamed bootstrap entry left out
  // A bootstrap entry once named by metadata counts as its broker; no round trip measured, no quantile.
  CHECK(metric_sample(text, R"(couponflow_kafka_broker_connected{broker="2",client="producer"})") == 0);
  CHECK(metric_sample(text, R"(couponflow_kafka_broker_request_timeouts_total{broker="2",client="producer"})") == 3);
  CHECK(text.find(R"(couponflow_kafka_broker_rtt_seconds{broker="2")") == std::string::npos);
  CHECK(metric_sample(text, R"(couponflow_kafka_consumer_partitions{client="consumer",state="active"})") == 2);
  CHECK(metric_sample(text, R"(couponflow_kafka_consumer_partitions{client="consumer",state="offset-wait"})") == 1);
  CHECK(text.find("state=\"none\"") == std::string::npos);
}
