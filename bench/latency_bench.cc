// couponflow_latency_bench: end-to-end latency at a fixed request rate, couponflow next
// to a plain passthrough at the same rate (bench/compare_redis.sh).
//
//   --mode processor    a `couponflow process` child process (its own state directory,
//                       --application-id) decides the requests;
//   --mode passthrough  a plain consume -> produce loop in this process (as the runtime
//                       bench's: same client settings, a flush and commit every 100 ms)
//                       copies each request unchanged to coupon-issued.
//
// The broker is another process (`couponflow broker`, --bootstrap) and must be fresh:
// the subscriber reads the result topics from their start, and the processor reads
// coupon-issuance from its start. The workload is the runtime bench's preload (the
// same catalog of 100 coupons, published first, and the same request generator); the
// requests (ids "lat-N") are built before the clock starts and sent at --rate for
// --seconds by the couponflow producer (linger 5 ms, acks=all).
//
// Latency: from just before a request is handed to the producer to when a subscriber
// (ops::AnswerTracker, as the demo measures it) reads its answer from coupon-issued,
// coupon-rejected or the DLQ. Backlog: requests sent minus requests answered, sampled
// every 100 ms (what a consumer-lag gauge on the request topic would show, plus the
// answers in flight). Errors: DLQ records written during the run, plus requests still
// unanswered --grace-seconds after the last send.
//
// Before the clock starts, one probe request per partition (an unknown coupon, so the
// catalog's counts are untouched) must be answered: the system under test then runs
// every partition, and the group join is not in the figures.
//
// Output: one line, mode=... rate=R seconds=S sent=N answered=A unanswered=U dlq=D
// errors=E error_rate=F p50_ms=.. p95_ms=.. p99_ms=.. max_ms=.. max_backlog=..
// mean_backlog=.. achieved_rate=..; --cdf FILE writes the latency CDF (TSV latency_ms,
// fraction), --backlog FILE the backlog samples (TSV seconds, sent, answered, backlog).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "bench/flash_sale_workload.h"
#include "bench/passthrough.h"
#include "common/errors.h"
#include "common/log.h"
#include "common/murmur2.h"
#include "ops/answer_tracker.h"
#include "ops/child_process.h"
#include "ops/workload.h"
#include "processor/kafka/kafka_consumer.h"
#include "processor/kafka/kafka_producer.h"
#include "topology/coupon/catalog.h"
#include "topology/coupon/coupon_topology.h"
#include "topology/coupon/request.h"

namespace couponflow::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kRequestPrefix = "lat-";

struct Options {
  std::string bootstrap;
  std::string mode = "processor";
  int64_t rate = 10'000;
  double seconds = 10;
  int partitions = 12;
  double grace_seconds = 15;
  std::string couponflow;  // default: the couponflow next to this bench's directory
  std::string application_id = "coupon-processor";
  std::string cdf_file;
  std::string backlog_file;
};

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

/// The runtime bench's preload, drawn from the same generator in the same order: the
/// catalog (100 coupons of capacity 100..999, timestamp 0 so it precedes every request)
/// is published now; the requests are returned for sending.
std::vector<ops::PlannedRecord> publish_catalog_and_plan(kafka::KafkaProducer& producer, int64_t requests) {
  FlashSaleWorkload workload;
  for (int c = 0; c < FlashSaleWorkload::kCoupons; ++c) {
    const std::string id = FlashSaleWorkload::coupon_id(c);
    producer.send("coupon-catalog", std::nullopt,
                  Message{id, coupon::catalog_json(id, {workload.capacities()[static_cast<size_t>(c)], {}, {}}), 0, {}});
  }
  producer.flush(30'000);
  std::vector<ops::PlannedRecord> planned;
  planned.reserve(static_cast<size_t>(requests));
  for (int64_t i = 0; i < requests; ++i) {
    const auto request = workload.next();
    std::string coupon = FlashSaleWorkload::coupon_id(request.coupon);
    std::string value =
        coupon::request_json(fmt::format("{}{}", kRequestPrefix, i), coupon, request.user_id, std::nullopt);
    planned.push_back({std::move(coupon), std::move(value), i});
  }
  return planned;
}

/// One request per partition for a coupon that is not in the catalog: rejected as
/// UNKNOWN_COUPON by the processor (no count changes), copied by the passthrough.
std::vector<ops::PlannedRecord> plan_probes(int partitions) {
  std::vector<ops::PlannedRecord> probes;
  std::vector<bool> covered(static_cast<size_t>(partitions), false);
  for (int k = 0; static_cast<int>(probes.size()) < partitions; ++k) {
    const std::string coupon = fmt::format("probe-{}", k);
    const auto p = static_cast<size_t>(murmur2_partition(coupon, partitions).value);
    if (covered[p]) continue;
    covered[p] = true;
    probes.push_back({coupon, coupon::request_json(fmt::format("probe-{}", k), coupon, "user-probe", std::nullopt), -1});
  }
  return probes;
}

/// The sum of the high watermarks of `topic` (records ever written, on a broker that
/// never truncated it).
int64_t records_in(const kafka::ClientProperties& client, const std::string& topic, int partitions) {
  // A manual-assignment consumer still needs a group id (librdkafka's consumer queue).
  kafka::KafkaConsumer consumer(client, "couponflow-latency-bench", nullptr);
  int64_t total = 0;
  for (int p = 0; p < partitions; ++p) total += consumer.query_watermarks({topic, Partition{p}}, 10'000).high.value;
  return total;
}

/// The system under test, running from construction to destruction.
class SystemUnderTest {
 public:
  SystemUnderTest(const Options& o, const kafka::ClientProperties& client, const std::filesystem::path& work) {
    if (o.mode == "processor") {
      child_ = std::make_unique<ops::ChildProcess>(
          std::vector<std::string>{o.couponflow, "process", "--bootstrap", o.bootstrap, "--state-dir",
                                   (work / "state").string(), "--application-id", o.application_id},
          work / "process.log");
    } else {
      passthrough_ = std::thread(
          [this, client] {
            run_passthrough(client, fmt::format("latency-passthrough-{}", ::getpid()),
                            [this](int64_t) { return stop_.load(); });
          });
    }
  }
  ~SystemUnderTest() { stop(); }
  /// Stops it (the processor gracefully: SIGTERM, then a kill after 15 s).
  void stop() {
    if (child_ && !child_->poll()) child_->terminate(std::chrono::seconds(15));
    stop_ = true;
    if (passthrough_.joinable()) passthrough_.join();
  }
  /// Throws if the processor exited on its own.
  void check_alive() {
    if (child_) {
      if (auto status = child_->poll()) {
        throw FatalError(fmt::format("couponflow process exited with status {} (see its log)", *status));
      }
    }
  }

 private:
  std::unique_ptr<ops::ChildProcess> child_;
  std::atomic<bool> stop_{false};
  std::thread passthrough_;
};

/// Backlog samples (every 100 ms) from the first send on.
struct BacklogSample {
  double seconds;
  int64_t sent, answered;
};

int64_t percentile_us(const std::vector<int64_t>& sorted, double q) { return ops::percentile(sorted, q); }

/// The sorted latencies as a CDF for gnuplot: `latency_ms<TAB>fraction`, 200 evenly
/// spaced fractions plus the far tail (the same format as couponflow_redis_bench's).
void write_cdf(const std::string& file, const std::vector<int64_t>& sorted_us) {
  std::ofstream out(file);
  out << "latency_ms\tfraction\n";
  std::vector<double> fractions;
  for (int i = 0; i <= 200; ++i) fractions.push_back(i / 200.0);
  for (double tail : {0.991, 0.993, 0.995, 0.997, 0.998, 0.999, 0.9995, 0.9999}) fractions.push_back(tail);
  std::sort(fractions.begin(), fractions.end());
  for (double f : fractions) out << fmt::format("{:.3f}\t{:.4f}\n", percentile_us(sorted_us, f) / 1000.0, f);
}

int run(const Options& o) {
  const kafka::ClientProperties client{{"bootstrap.servers", o.bootstrap}};
  const auto requests = static_cast<int64_t>(static_cast<double>(o.rate) * o.seconds);
  if (requests > 300'000) {
    std::fprintf(stderr, "latency_bench: warning: %lld requests exceed the embedded broker's per-partition cap "
                         "at 12 partitions (~300k); records may be dropped\n", static_cast<long long>(requests));
  }
  const auto work = std::filesystem::temp_directory_path() / fmt::format("couponflow-latency-bench-{}", ::getpid());
  std::filesystem::create_directories(work);

  kafka::KafkaProducer producer(client);
  const coupon::CouponTopics topics;
  producer.warm_up({topics.catalog, topics.issuance});
  const auto planned = publish_catalog_and_plan(producer, requests);
  const auto probes = plan_probes(o.partitions);
  const int64_t dlq_before = records_in(client, topics.dlq, o.partitions);

  ops::AnswerTracker tracker(client, topics, o.partitions, kRequestPrefix, static_cast<size_t>(requests));
  SystemUnderTest sut(o, client, work);

  // Every partition answers before the clock starts.
  std::atomic<bool> stop{false};
  std::atomic<int64_t> sent{0};
  ops::send_records(producer, topics.issuance, probes, 0, stop, sent);
  producer.flush(30'000);
  const auto probes_start = Clock::now();
  while (tracker.answered_records() < static_cast<int64_t>(probes.size())) {
    sut.check_alive();
    if (seconds_since(probes_start) > 90) throw FatalError("the system under test did not answer within 90 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const int64_t answered_before = tracker.answered_records();
  sent = 0;

  std::vector<BacklogSample> samples;
  std::atomic<bool> sampling{true};
  const auto start = Clock::now();
  std::thread sampler([&] {
    for (auto next = start; sampling.load(); next += std::chrono::milliseconds(100)) {
      std::this_thread::sleep_until(next);
      samples.push_back({seconds_since(start), sent.load(), tracker.answered_records() - answered_before});
    }
  });
  ops::send_records(producer, topics.issuance, planned, o.rate, stop, sent,
                    [&](int64_t index) { tracker.mark_sent(index); });
  const double send_seconds = seconds_since(start);
  producer.flush(30'000);
  const auto last_send = Clock::now();
  while (tracker.answered_records() - answered_before < requests && seconds_since(last_send) < o.grace_seconds) {
    sut.check_alive();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  sampling = false;
  sampler.join();
  sut.stop();
  tracker.stop();
  const int64_t dlq = records_in(client, topics.dlq, o.partitions) - dlq_before;

  const auto latencies = tracker.latencies_us(0, requests);
  const auto answered = static_cast<int64_t>(latencies.size());
  const int64_t unanswered = requests - answered;
  const int64_t errors = dlq + unanswered;
  int64_t max_backlog = 0;
  double backlog_sum = 0;
  int64_t backlog_count = 0;
  for (const auto& s : samples) {
    const int64_t backlog = std::max<int64_t>(0, s.sent - s.answered);
    max_backlog = std::max(max_backlog, backlog);
    // The mean covers the sending window: after it the backlog only drains.
    if (s.seconds <= send_seconds) {
      backlog_sum += static_cast<double>(backlog);
      ++backlog_count;
    }
  }
  if (!o.cdf_file.empty()) write_cdf(o.cdf_file, latencies);
  if (!o.backlog_file.empty()) {
    std::ofstream out(o.backlog_file);
    out << "seconds\tsent\tanswered\tbacklog\n";
    for (const auto& s : samples) {
      out << fmt::format("{:.1f}\t{}\t{}\t{}\n", s.seconds, s.sent, s.answered, std::max<int64_t>(0, s.sent - s.answered));
    }
  }
  std::printf("mode=%s rate=%lld seconds=%.1f sent=%lld answered=%lld unanswered=%lld dlq=%lld errors=%lld "
              "error_rate=%.6f p50_ms=%.2f p95_ms=%.2f p99_ms=%.2f max_ms=%.2f max_backlog=%lld mean_backlog=%.0f "
              "achieved_rate=%.0f\n",
              o.mode.c_str(), static_cast<long long>(o.rate), o.seconds, static_cast<long long>(requests),
              static_cast<long long>(answered), static_cast<long long>(unanswered), static_cast<long long>(dlq),
              static_cast<long long>(errors), static_cast<double>(errors) / static_cast<double>(std::max<int64_t>(1, requests)),
              percentile_us(latencies, 0.50) / 1000.0, percentile_us(latencies, 0.95) / 1000.0,
              percentile_us(latencies, 0.99) / 1000.0, latencies.empty() ? 0.0 : latencies.back() / 1000.0,
              static_cast<long long>(max_backlog), backlog_count ? backlog_sum / static_cast<double>(backlog_count) : 0.0,
              static_cast<double>(requests) / send_seconds);
  std::error_code ignored;
  std::filesystem::remove_all(work, ignored);
  return 0;
}

}  // namespace
}  // namespace couponflow::bench

int main(int argc, char** argv) {
  using namespace couponflow;
  bench::Options o;
  CLI::App app{"couponflow latency bench: end-to-end latency at a fixed rate, processor or passthrough"};
  app.add_option("--bootstrap", o.bootstrap, "a fresh embedded broker (couponflow broker)")->required();
  app.add_option("--mode", o.mode)->check(CLI::IsMember({"processor", "passthrough"}));
  app.add_option("--rate", o.rate, "requests per second")->check(CLI::Range(int64_t{1}, int64_t{10'000'000}));
  app.add_option("--seconds", o.seconds, "how long to send")->check(CLI::Range(0.1, 3600.0));
  app.add_option("--partitions", o.partitions, "partitions of the broker's topics");
  app.add_option("--grace-seconds", o.grace_seconds, "how long to wait for answers after the last send");
  app.add_option("--couponflow", o.couponflow, "processor mode: the couponflow executable");
  app.add_option("--application-id", o.application_id, "processor mode: its application id");
  app.add_option("--cdf", o.cdf_file, "write the latency CDF here (TSV: latency_ms, fraction)");
  app.add_option("--backlog", o.backlog_file, "write the backlog samples here (TSV)");
  CLI11_PARSE(app, argc, argv);
  log::set_min_level(log::Level::kWarn);
  if (o.couponflow.empty()) {
    // build/bench/couponflow_latency_bench -> build/couponflow
    o.couponflow = (std::filesystem::path(ops::self_executable()).parent_path().parent_path() / "couponflow").string();
  }
  try {
    return bench::run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "latency_bench: %s\n", e.what());
    return 1;
  }
}
