#include "ops/demo/demo.h"

#include <chrono>
#include <cstdio>
#include <thread>

#include <fmt/format.h>

#include "common/clock.h"
#include "common/errors.h"
#include "common/log.h"
#include "ops/answer_tracker.h"
#include "ops/embedded_topics.h"
#include "ops/fleet.h"
#include "ops/http/http_get.h"
#include "ops/signals.h"
#include "ops/verify/verify.h"
#include "ops/workload.h"
#include "processor/kafka/embedded_broker.h"
#include "topology/coupon/coupon_topology.h"

namespace couponflow::ops {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string latency_line(const std::vector<int64_t>& sorted_us) {
  return fmt::format("p50 {:.1f} ms, p95 {:.1f} ms, p99 {:.1f} ms, max {:.1f} ms ({} requests)",
                     percentile(sorted_us, 0.50) / 1000.0, percentile(sorted_us, 0.95) / 1000.0,
                     percentile(sorted_us, 0.99) / 1000.0, sorted_us.empty() ? 0.0 : sorted_us.back() / 1000.0,
                     sorted_us.size());
}

/// What the instances' /metrics say, next to what verify read from the topics: the two
/// are counted independently, so agreement is a check of both.
/// Returns whether they agree.
bool print_metrics_summary(std::FILE* out, const Fleet& fleet, const VerifyReport& report) {
  double decisions = 0, dead_letters = 0;
  fmt::print(out, "metrics (each instance's /metrics):\n");
  for (const auto& name : fleet.names()) {
    const auto address = fleet.metrics_address(name);
    const HttpAnswer answer = address ? http_get(*address, "/metrics") : HttpAnswer{};
    if (answer.status != 200) {
      fmt::print(out, "  {}: no answer from /metrics\n", name);
      continue;
    }
    const double d = metric_sum(answer.body, "couponflow_decisions_total");
    const double q = metric_sum(answer.body, "couponflow_dlq_records_total");
    decisions += d;
    dead_letters += q;
    fmt::print(out, "  {}: {:.0f} decisions, {:.0f} dead letters, lag {:.0f}, ready {:.0f}, {:.0f} partitions\n", name, d, q,
               metric_sum(answer.body, "couponflow_consumer_lag_records"),
               metric_sample(answer.body, "couponflow_ready"),
               metric_sum(answer.body, "couponflow_assigned_partitions"));
  }
  const bool agree = decisions == static_cast<double>(report.results) &&
                     dead_letters == static_cast<double>(report.dlq_entries);
  fmt::print(out, "  in all {:.0f} decisions and {:.0f} dead letters; verify read {} results and {} DLQ entries: {}\n",
             decisions, dead_letters, report.results, report.dlq_entries, agree ? "they agree" : "they DIFFER");
  return agree;
}

std::string latency_json(const std::vector<int64_t>& sorted_us) {
  return fmt::format("{{\"requests\":{},\"p50_ms\":{:.3f},\"p95_ms\":{:.3f},\"p99_ms\":{:.3f},\"max_ms\":{:.3f}}}",
                     sorted_us.size(), percentile(sorted_us, 0.50) / 1000.0, percentile(sorted_us, 0.95) / 1000.0,
                     percentile(sorted_us, 0.99) / 1000.0, sorted_us.empty() ? 0.0 : sorted_us.back() / 1000.0);
}

}  // namespace

int run_demo(const DemoOptions& options) {
  const auto& stop = install_stop_signals();
  // With --output json, stdout carries one summary object and the prose goes to stderr.
  std::FILE* out = options.json_output ? stderr : stdout;
  log::set_min_level(log::Level::kWarn);
  const bool own_dir = options.work_dir.empty();
  std::filesystem::path dir = options.work_dir;
  if (own_dir) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "couponflow-demo-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw FatalError("cannot create a demo directory");
    dir = tmpl;
  }

  fmt::print(out, "== couponflow demo ==\n");
  kafka::EmbeddedBroker broker(options.brokers);
  const coupon::CouponTopics topics;
  create_topology_topics(broker, coupon::build_coupon_topology(), {"coupon-processor"}, options.partitions);
  fmt::print(out, "embedded broker: {} broker(s) at {}, {} partitions per topic\n", options.brokers, broker.bootstrap(),
             options.partitions);
  const kafka::ClientProperties client{{"bootstrap.servers", broker.bootstrap()}};

  // Three coupons per partition, mixed capacities; the first is the hot one, the
  // second opens tomorrow, the third closed a minute ago.
  auto coupons = balanced_catalog(options.partitions, 3, "coupon", {1000, 500, 1000, 2000, 5000, 300, 800, 1500, 200});
  const EpochMillis now = SystemClock().now_ms();
  coupons[1].definition.opens_at = now + 86'400'000;
  coupons[2].definition.closes_at = now - 60'000;
  kafka::KafkaProducer producer(client);
  producer.warm_up({topics.catalog, topics.issuance});
  publish_catalog(producer, topics.catalog, coupons);
  fmt::print(out, "catalog: {} coupons, capacities 200..5000; hot coupon {} (capacity {}), {} not open yet, {} closed\n",
             coupons.size(), coupons[0].id, coupons[0].definition.capacity, coupons[1].id, coupons[2].id);

  std::vector<std::string> instance_args{"-X", "consumer.session.timeout.ms=3000", "-X",
                                         "consumer.heartbeat.interval.ms=500"};
  for (const auto& setting : options.process_settings) {
    instance_args.push_back("-X");
    instance_args.push_back(setting);
  }
  Fleet fleet(self_executable(), broker.bootstrap(), dir, instance_args);
  for (int i = 1; i <= options.instances; ++i) {
    const auto name = fmt::format("demo-{}", i);
    fleet.start(name);
    fmt::print(out, "instance {}: log {}\n", name, fleet.current_log(name).string());
  }
  fmt::print(out, "waiting for the processor group to settle (the embedded broker rebalances in steps of ~2 s)...\n");
  const auto settle_start = Clock::now();
  if (!fleet.wait_until_settled(options.partitions, std::chrono::seconds(90), std::chrono::seconds(1), &stop)) {
    throw FatalError(stop.load() ? "interrupted" : "the processor group did not settle within 90 s");
  }
  std::string split;
  for (const auto& [name, partitions] : fleet.running_partitions()) split += fmt::format(" {} owns {};", name, partitions.size());
  fmt::print(out, "group settled after {:.1f} s:{}\n", seconds_since(settle_start), split);
  for (const auto& name : fleet.names()) {
    if (auto address = fleet.metrics_address(name)) {
      fmt::print(out, "instance {}: http://{}/metrics, /healthz, /readyz\n", name, *address);
    }
  }

  // Two phases: a burst as fast as the producer goes (throughput, and latency under a
  // backlog), then a steady rate well below capacity (latency of a system keeping up).
  const int64_t burst_n = options.requests;
  const int64_t steady_n = options.steady_rate * options.steady_seconds;
  RequestMix mix;
  mix.users = std::max<int64_t>(1000, (burst_n + steady_n) * 2 / 5);
  mix.seed = options.seed;
  mix.undecidable = true;
  const auto burst = plan_requests(coupons, 0, burst_n, mix);
  mix.seed = options.seed + 1;
  mix.undecidable = false;
  const auto steady = plan_requests(coupons, burst_n, steady_n, mix);

  AnswerTracker tracker(client, topics, options.partitions, mix.id_prefix, static_cast<size_t>(burst_n + steady_n));
  int64_t expected = 0;
  // Sends records (paced or not) and waits until every one is answered, printing
  // progress once a second. Returns the seconds from the first send to the last answer.
  auto run_phase = [&](const std::vector<PlannedRecord>& records, int64_t rate) {
    expected += static_cast<int64_t>(records.size());
    const auto start = Clock::now();
    const int64_t answered_before = tracker.answered_records();
    std::atomic<int64_t> sent{0};
    std::thread sender([&] {
      send_records(producer, topics.issuance, records, rate, stop, sent,
                   [&](int64_t index) { tracker.mark_sent(index); });
    });
    int64_t last_answered = answered_before;
    auto last_tick = Clock::now();
    while (tracker.answered_records() < expected && !stop.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      if (seconds_since(last_tick) < 1.0) continue;
      const int64_t a = tracker.answered_records();
      fmt::print(out, "[{:5.1f} s] sent {:>7}  answered {:>7}  ({:>7.0f} answers/s)\n", seconds_since(start), sent.load(),
                 a - answered_before, static_cast<double>(a - last_answered) / seconds_since(last_tick));
      last_answered = a;
      last_tick = Clock::now();
      for (const auto& name : fleet.names()) {
        if (!fleet.running(name)) throw FatalError(fmt::format("instance {} exited", name));
      }
      if (seconds_since(start) > 300) throw FatalError("not every request was answered within 300 s");
    }
    const double elapsed = seconds_since(start);
    sender.join();
    producer.flush(30'000);
    if (stop.load()) throw FatalError("interrupted");
    return elapsed;
  };

  fmt::print(out, "burst: {} records (with client resends and 24 undecidable ones), as fast as the producer goes\n",
             burst.size());
  const double burst_seconds = run_phase(burst, 0);
  if (!steady.empty()) {
    fmt::print(out, "steady: {} records at {} requests/s\n", steady.size(), options.steady_rate);
    run_phase(steady, options.steady_rate);
  }
  tracker.stop();

  fmt::print(out, "\n");
  const auto report = verify_topics(client, topics);
  fmt::print(out, "{}", format_report(report));
  fmt::print(out, "\nburst throughput: {:.0f} records/s end to end ({} records sent and answered in {:.2f} s)\n",
             static_cast<double>(burst.size()) / burst_seconds, burst.size(), burst_seconds);
  fmt::print(out, "latency, producer send -> result read by a subscriber:\n");
  fmt::print(out, "  burst (includes waiting behind the backlog): {}\n", latency_line(tracker.latencies_us(0, burst_n)));
  if (!steady.empty()) {
    fmt::print(out, "  steady at {}/s:                          {}\n", options.steady_rate,
               latency_line(tracker.latencies_us(burst_n, burst_n + steady_n)));
  }
  fmt::print(out, "DLQ: {} entries\n", report.dlq_entries);
  const bool metrics_agree = print_metrics_summary(out, fleet, report);

  bool clean = true;
  for (const auto& name : fleet.names()) {
    auto status = fleet.stop(name);
    clean = clean && status == 0;
    fmt::print(out, "instance {} stopped with exit code {}\n", name, status ? fmt::format("{}", *status) : "(killed)");
  }
  fmt::print(out, "verify: {}\n", report.ok() ? "PASS" : "FAIL");
  if (own_dir && report.ok() && clean) std::filesystem::remove_all(dir);
  if (!report.ok() || !clean) fmt::print(out, "logs kept in {}\n", dir.string());
  const int code = report.ok() && clean ? 0 : 1;
  if (options.json_output) {
    std::string verify = format_report_json(report);
    while (!verify.empty() && verify.back() == '\n') verify.pop_back();
    fmt::print("{{\"demo\":true,\"passed\":{},\"exit_code\":{},\"instances\":{},\"partitions\":{},"
               "\"instances_stopped_cleanly\":{},\"metrics_agree_with_topics\":{},"
               "\"burst\":{{\"records\":{},\"seconds\":{:.3f},\"records_per_second\":{:.0f},\"latency\":{}}},"
               "\"steady\":{},\"verify\":{}}}\n",
               code == 0, code, options.instances, options.partitions, clean, metrics_agree, burst.size(),
               burst_seconds, static_cast<double>(burst.size()) / burst_seconds,
               latency_json(tracker.latencies_us(0, burst_n)),
               steady.empty() ? std::string("null")
                              : fmt::format("{{\"rate\":{},\"latency\":{}}}", options.steady_rate,
                                            latency_json(tracker.latencies_us(burst_n, burst_n + steady_n))),
               verify);
  }
  return code;
}

}  // namespace couponflow::ops
