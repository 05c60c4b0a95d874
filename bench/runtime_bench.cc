// couponflow_runtime_bench: the processor on the embedded broker against the broker's
// own ceiling.
//
//   --mode passthrough  a plain consume -> produce loop (same client settings, a
//                       commit every 100 ms): the most any processor can do here;
//   --mode shaped       the same loop writing what the processor writes: the
//                       --granted-share of the records to coupon-issued and to the
//                       --application-id's issued-store changelog, the rest to
//                       coupon-rejected (`--mode preload` prints granted=N);
//   --mode processor    one `process` instance (StreamsInstance, --threads stream
//                       threads) deciding the same requests with its stores,
//                       changelog and commits.
//   --metrics on|off    processor mode: with metrics as `process` runs them (registry,
//                       per-record histograms, the HTTP endpoint scraped every second)
//                       or with none of it (metrics.recording.level=off, no registry).
//
// Both read the same preloaded requests from `coupon-issuance` (12 partitions) and
// print one machine-readable line: mode=... records=N seconds=X rate=R
// cpu_us_per_record=C sys_us_per_record=S faults=F, where C is this process's CPU time
// (user + system, every thread) over the measured window per record, S the system's
// part of it, and F the page faults in the whole window (bench/process_usage.h).
//
// By default the embedded broker runs inside this process (its CPU is then counted
// too). With --bootstrap it is another process (`couponflow broker`): --mode preload
// fills it once, then each run reads the same requests with a group of its own
// (--group for the passthrough, --application-id for the processor), and the CPU
// figure is the processor's or the passthrough's alone (bench/cpu.sh).

#include <chrono>
#include <cstdio>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <prometheus/registry.h>

#include "bench/flash_sale_workload.h"
#include "bench/passthrough.h"
#include "bench/process_usage.h"
#include "common/log.h"
#include "ops/http/http_get.h"
#include "ops/http/status_server.h"
#include "ops/embedded_topics.h"
#include "processor/kafka/embedded_broker.h"
#include "processor/kafka/kafka_consumer.h"
#include "processor/kafka/kafka_producer.h"
#include "processor/streams_instance.h"
#include "state/store_spec.h"
#include "topology/coupon/catalog.h"
#include "topology/coupon/coupon_topology.h"
#include "topology/coupon/issued_state.h"
#include "topology/coupon/request.h"

namespace couponflow::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string mode = "processor";
  std::string guarantee = "at_least_once";
  int64_t records = 300'000;  // 25k per partition: under the embedded broker's 5 MB cap
  int partitions = 12;
  int brokers = 1;
  std::string metrics = "on";
  int threads = 1;  // processor mode: num.stream.threads
  int coupons = 100;  // preload: requests for the first N coupons
  std::string bootstrap;  // an external broker (see above); empty: embedded, in-process
  std::string group = "bench-passthrough";
  std::string application_id = "coupon-processor";
  double granted_share = 0;  // shaped mode: see PassthroughShape
};

/// What one run measured.
struct Measured {
  double seconds = 0;
  ProcessUsage used;    // over the measured window
  int64_t records = 0;  // records in the measured window
};

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// 100 coupons, 200k users, keys are coupon ids. Capacities of 100..1000 make most
/// requests rejections (~20% are granted), as in a flash sale and as in the decision
/// bench; every grant costs a changelog record and a RocksDB write. Requests go to the
/// first `requested_coupons` coupons (1: one hot coupon, all on one partition).
/// Returns how many of the requests the contract grants (a coupon's capacity, one per
/// user): the processor writes a changelog record for each.
int64_t preload(kafka::KafkaProducer& producer, int64_t records, int requested_coupons) {
  FlashSaleWorkload workload;
  std::vector<int64_t> issued(FlashSaleWorkload::kCoupons, 0);
  std::set<std::pair<int, std::string>> holders;
  int64_t granted = 0;
  for (int c = 0; c < FlashSaleWorkload::kCoupons; ++c) {
    const std::string id = FlashSaleWorkload::coupon_id(c);
    producer.send("coupon-catalog", std::nullopt,
                  Message{id, coupon::catalog_json(id, {workload.capacities()[static_cast<size_t>(c)], {}, {}}), 0, {}});
  }
  for (int64_t i = 0; i < records; ++i) {
    const auto request = workload.next(requested_coupons);
    const auto c = static_cast<size_t>(request.coupon);
    if (issued[c] < workload.capacities()[c] && holders.emplace(request.coupon, request.user_id).second) {
      ++issued[c];
      ++granted;
    }
    const std::string coupon = FlashSaleWorkload::coupon_id(request.coupon);
    producer.send("coupon-issuance", std::nullopt,
                  Message{coupon, coupon::request_json(fmt::format("r-{}", i), coupon, request.user_id, std::nullopt),
                          wall_ms(), {}});
  }
  producer.flush(60'000);
  return granted;
}

Measured measure_passthrough(const kafka::ClientProperties& client, int64_t records, const std::string& group,
                             const PassthroughShape& shape) {
  Measured m;
  Clock::time_point start{};
  ProcessUsage at_start;
  bench::run_passthrough(
      client, group, [&](int64_t copied) { return (m.records = copied) >= records; },
      [&] {
        start = Clock::now();
        at_start = ProcessUsage::now();
      },
      [&] {
        m.seconds = std::chrono::duration<double>(Clock::now() - start).count();
        m.used = ProcessUsage::now().since(at_start);
      },
      shape);
  return m;
}

Measured run_processor(const std::string& bootstrap, int64_t records, processor::Guarantee guarantee, bool metrics,
                       int threads, const std::string& application_id) {
  processor::StreamsConfig config;
  config.num_stream_threads = threads;
  config.application_id = application_id;
  config.metrics_per_record = metrics;
  config.guarantee = guarantee;
  config.bootstrap = bootstrap;
  config.state_dir = std::filesystem::temp_directory_path() / fmt::format("couponflow-runtime-bench-{}", ::getpid());
  std::filesystem::remove_all(config.state_dir);
  const auto topology = coupon::build_coupon_topology();
  auto registry = metrics ? std::make_shared<prometheus::Registry>() : nullptr;
  processor::StreamsInstance thread(topology, config, registry);
  std::unique_ptr<ops::StatusServer> server;
  if (metrics) {
    server = std::make_unique<ops::StatusServer>(
        "127.0.0.1:0", registry, [] { return ops::Probe{true, ""}; },
        [&thread] { return ops::Probe{thread.status().ready(), ""}; });
  }
  std::atomic<bool> stop{false};
  std::thread runner([&] { thread.run(stop); });
  // A scraper as Prometheus would be, only more eager (every second).
  std::thread scraper([&] {
    while (metrics && !stop) {
      if (ops::http_get(server->port(), "/metrics").status != 200) std::fprintf(stderr, "scrape failed\n");
      for (int i = 0; i < 100 && !stop; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  // The clock starts when the tasks run (the group join before that is not processing).
  Clock::time_point start;
  uint64_t processed_at_start = 0;
  ProcessUsage at_start;
  for (;;) {
    auto s = thread.status();
    bool all_running = !s.tasks.empty();
    for (const auto& t : s.tasks) all_running = all_running && t.state == processor::TaskState::kRunning;
    if (all_running) {
      start = Clock::now();
      at_start = ProcessUsage::now();
      processed_at_start = s.processed;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // Done when every request is processed and a commit has made it durable.
  for (;;) {
    auto s = thread.status();
    if (s.processed >= static_cast<uint64_t>(records)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  Measured m;
  m.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  m.used = ProcessUsage::now().since(at_start);
  m.records = records - static_cast<int64_t>(processed_at_start);
  stop = true;
  runner.join();
  scraper.join();
  std::filesystem::remove_all(config.state_dir);
  return m;
}

}  // namespace
}  // namespace couponflow::bench

int main(int argc, char** argv) {
  using namespace couponflow;
  bench::Options o;
  CLI::App app{"couponflow runtime bench: the processor vs a plain passthrough on the embedded broker"};
  app.add_option("--mode", o.mode)->check(CLI::IsMember({"passthrough", "shaped", "processor", "preload"}));
  app.add_option("--records", o.records);
  app.add_option("--coupons", o.coupons, "preload: request the first N of the 100 coupons (1: one hot coupon)")
      ->check(CLI::Range(1, 100));
  app.add_option("--partitions", o.partitions);
  app.add_option("--brokers", o.brokers);
  app.add_option("--guarantee", o.guarantee)->check(CLI::IsMember({"at_least_once", "exactly_once_v2"}));
  app.add_option("--metrics", o.metrics)->check(CLI::IsMember({"on", "off"}));
  app.add_option("--threads", o.threads, "processor mode: num.stream.threads")->check(CLI::Range(1, 16));
  app.add_option("--bootstrap", o.bootstrap, "an external broker (couponflow broker) instead of an in-process one");
  app.add_option("--group", o.group,
                 "passthrough and shaped modes: its consumer group (one per run on an external broker)");
  app.add_option("--application-id", o.application_id,
                 "processor mode: its application id (one per run); shaped mode: whose changelog it writes");
  app.add_option("--granted-share", o.granted_share,
                 "shaped mode: share of the records treated as granted (preload prints granted=N)")
      ->check(CLI::Range(0.0, 1.0));
  bool debug = false;
  app.add_flag("--debug", debug, "the engine's debug log on stderr (each commit's duration, waits for a lagging source)");
  CLI11_PARSE(app, argc, argv);
  log::set_min_level(debug ? log::Level::kDebug : log::Level::kWarn);

  std::unique_ptr<kafka::EmbeddedBroker> broker;
  std::string bootstrap = o.bootstrap;
  if (bootstrap.empty()) {
    broker = std::make_unique<kafka::EmbeddedBroker>(o.brokers);
    ops::create_topology_topics(*broker, coupon::build_coupon_topology(), {o.application_id}, o.partitions);
    bootstrap = broker->bootstrap();
  }
  const kafka::ClientProperties client{{"bootstrap.servers", bootstrap}};
  int64_t granted = 0;
  if (broker || o.mode == "preload") {
    kafka::KafkaProducer producer(client);
    granted = bench::preload(producer, o.records, o.coupons);
  }
  if (o.mode == "preload") {
    std::printf("mode=preload records=%lld granted=%lld\n", static_cast<long long>(o.records),
                static_cast<long long>(granted));
    return 0;
  }
  const bench::Measured m =
      o.mode != "processor"
          ? bench::measure_passthrough(
                client, o.records, o.group,
                o.mode == "shaped"
                    ? bench::PassthroughShape{state::changelog_topic(o.application_id, coupon::issued_store_spec()),
                                              o.granted_share}
                    : bench::PassthroughShape{})
          : bench::run_processor(bootstrap, o.records,
                                 o.guarantee == "exactly_once_v2" ? processor::Guarantee::kExactlyOnceV2
                                                                  : processor::Guarantee::kAtLeastOnce,
                                 o.metrics == "on", o.threads, o.application_id);
  std::printf("mode=%s guarantee=%s metrics=%s threads=%d granted_share=%.4f records=%lld brokers=%d seconds=%.3f "
              "rate=%.0f cpu_seconds=%.3f cpu_us_per_record=%.3f sys_us_per_record=%.3f faults=%lld broker=%s\n",
              o.mode.c_str(), o.guarantee.c_str(), o.mode == "processor" ? o.metrics.c_str() : "-",
              o.mode == "processor" ? o.threads : 0, o.mode == "shaped" ? o.granted_share : 0.0,
              static_cast<long long>(o.records), o.brokers, m.seconds,
              static_cast<double>(m.records) / m.seconds, m.used.cpu_seconds,
              m.used.cpu_seconds * 1e6 / static_cast<double>(std::max<int64_t>(1, m.records)),
              m.used.system_seconds * 1e6 / static_cast<double>(std::max<int64_t>(1, m.records)),
              static_cast<long long>(m.used.faults), broker ? "in-process" : "external");
  return 0;
}
