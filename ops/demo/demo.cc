#include "ops/demo/demo.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "common/errors.h"
#include "common/log.h"
#include "common/murmur2.h"
#include "ops/child_process.h"
#include "ops/embedded_topics.h"
#include "ops/signals.h"
#include "ops/verify/verify.h"
#include "processor/kafka/embedded_broker.h"
#include "processor/kafka/kafka_consumer.h"
#include "processor/kafka/kafka_producer.h"
#include "topology/coupon/catalog.h"
#include "topology/coupon/coupon_topology.h"
#include "topology/coupon/request.h"
#include "topology/coupon/result.h"

namespace couponflow::ops {
namespace {

using Clock = std::chrono::steady_clock;

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct DemoCoupon {
  std::string id;
  coupon::CouponDefinition definition;
};

/// Three coupons per partition (ids chosen by their murmur2 partition, so that load
/// spreads evenly and no partition outgrows the embedded broker's ~5 MB cap), mixed
/// capacities, one not open yet and one closed.
std::vector<DemoCoupon> make_catalog(int partitions) {
  const std::vector<int64_t> capacities{200, 500, 1000, 2000, 5000, 300, 800, 1500};
  std::vector<int> per_partition(static_cast<size_t>(partitions), 0);
  std::vector<DemoCoupon> coupons;
  for (int n = 1; static_cast<int>(coupons.size()) < 3 * partitions; ++n) {
    std::string id = fmt::format("coupon-{:03}", n);
    auto p = static_cast<size_t>(murmur2_partition(id, partitions).value);
    if (per_partition[p] == 3) continue;
    ++per_partition[p];
    coupons.push_back({id, {capacities[coupons.size() % capacities.size()], {}, {}}});
  }
  const int64_t now = wall_ms();
  coupons[0].definition.capacity = 1000;  // the hot coupon
  coupons[1].definition.opens_at = now + 86'400'000;  // opens tomorrow
  coupons[2].definition.closes_at = now - 60'000;     // closed a minute ago
  return coupons;
}

struct PlannedRecord {
  std::optional<std::string> key;
  std::string value;
  int64_t request_index;  // -1: undecidable, answered by the DLQ
};

/// The burst: requests from a pool of users, the hot coupon taking ~6%, ~2% resent
/// (same requestId), and a few records that cannot be judged.
std::vector<PlannedRecord> make_load(const std::vector<DemoCoupon>& coupons, int64_t first, int64_t requests,
                                     int64_t users, uint32_t seed, bool with_undecidable, int64_t& duplicates,
                                     int64_t& undecidable) {
  std::mt19937_64 rng(seed);
  std::vector<PlannedRecord> out;
  out.reserve(static_cast<size_t>(requests + requests / 40 + 64));
  duplicates = 0;
  undecidable = 0;
  for (int64_t i = first; i < first + requests; ++i) {
    const auto& c = rng() % 100 < 6 ? coupons[0] : coupons[1 + rng() % (coupons.size() - 1)];
    const std::string user = fmt::format("user-{}", rng() % users);
    out.push_back({c.id, coupon::request_json(fmt::format("d-{}", i), c.id, user, wall_ms()), i});
    if (rng() % 100 < 2) {
      out.push_back(out.back());  // a client retry: same request, same identity
      ++duplicates;
    }
  }
  const std::vector<std::pair<std::optional<std::string>, std::string>> bad{
      {coupons[3].id, "this is not JSON"},
      {coupons[3].id, R"({"couponId":")" + coupons[3].id + R"("})"},
      {coupons[3].id, R"({"couponId":")" + coupons[3].id + R"(","userId":42})"},
      {coupons[3].id, R"([1,2,3])"},
      {"wrong-key", R"({"couponId":")" + coupons[3].id + R"(","userId":"u"})"},
      {std::nullopt, R"({"couponId":")" + coupons[3].id + R"(","userId":"u"})"},
  };
  for (int round = 0; with_undecidable && round < 4; ++round) {
    for (const auto& [key, value] : bad) {
      const auto at = static_cast<size_t>(rng() % out.size());
      out.insert(out.begin() + static_cast<std::ptrdiff_t>(at), PlannedRecord{key, value, -1});
      ++undecidable;
    }
  }
  return out;
}

/// Follows the instances' logs until every partition has exactly one RUNNING task
/// and the assignment has been stable for a moment.
void wait_for_group(const std::vector<std::filesystem::path>& logs, int partitions, const std::atomic<bool>& stop) {
  const auto start = Clock::now();
  std::string last_signature;
  auto stable_since = Clock::now();
  for (;;) {
    std::vector<std::set<int>> running(logs.size());
    for (size_t i = 0; i < logs.size(); ++i) {
      std::ifstream in(logs[i]);
      std::string line;
      while (std::getline(in, line)) {
        const auto pos = line.find("] task 0_");
        if (pos == std::string::npos) continue;
        const int p = std::atoi(line.c_str() + pos + 9);
        if (line.find("RESTORING -> RUNNING") != std::string::npos) running[i].insert(p);
        if (line.find("RUNNING -> CLOSED") != std::string::npos) running[i].erase(p);
      }
    }
    std::map<int, int> owners;
    std::string signature;
    bool everyone_works = true;
    for (size_t i = 0; i < running.size(); ++i) {
      everyone_works = everyone_works && (!running[i].empty() || static_cast<int>(i) >= partitions);
      for (int p : running[i]) {
        ++owners[p];
        signature += fmt::format("{}:{} ", i, p);
      }
    }
    bool settled = static_cast<int>(owners.size()) == partitions && everyone_works;
    for (const auto& [p, n] : owners) settled = settled && n == 1;
    if (signature != last_signature) {
      last_signature = signature;
      stable_since = Clock::now();
    }
    if (settled && seconds_since(stable_since) > 1.0) {
      std::string split;
      for (size_t i = 0; i < running.size(); ++i) split += fmt::format(" instance {} owns {};", i + 1, running[i].size());
      fmt::print("group settled after {:.1f} s:{}\n", seconds_since(start), split);
      return;
    }
    if (seconds_since(start) > 90) throw FatalError("the processor group did not settle within 90 s");
    if (stop.load()) throw FatalError("interrupted");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

int64_t percentile(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto i = static_cast<size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

}  // namespace

int run_demo(const DemoOptions& options) {
  const auto& stop = install_stop_signals();
  log::set_min_level(log::Level::kWarn);
  const bool own_dir = options.work_dir.empty();
  std::filesystem::path dir = options.work_dir;
  if (own_dir) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "couponflow-demo-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw FatalError("cannot create a demo directory");
    dir = tmpl;
  }
  std::filesystem::create_directories(dir);

  fmt::print("== couponflow demo ==\n");
  kafka::EmbeddedBroker broker(options.brokers);
  const auto topology = coupon::build_coupon_topology();
  create_topology_topics(broker, topology, {"coupon-processor"}, options.partitions);
  fmt::print("embedded broker: {} broker(s) at {}, {} partitions per topic\n", options.brokers, broker.bootstrap(),
             options.partitions);
  const kafka::ClientProperties client{{"bootstrap.servers", broker.bootstrap()}};

  const auto coupons = make_catalog(options.partitions);
  kafka::KafkaProducer producer(client);
  producer.warm_up({"coupon-catalog", "coupon-issuance"});
  for (const auto& c : coupons) {
    producer.send("coupon-catalog", std::nullopt,
                  Message{c.id, coupon::catalog_json(c.id, c.definition), wall_ms(), {}});
  }
  producer.flush(30'000);
  fmt::print("catalog: {} coupons, capacities 200..5000; hot coupon {} (capacity {}), {} not open yet, {} closed\n",
             coupons.size(), coupons[0].id, coupons[0].definition.capacity, coupons[1].id, coupons[2].id);

  std::vector<std::unique_ptr<ChildProcess>> instances;
  std::vector<std::filesystem::path> logs;
  const std::string self = self_executable();
  for (int i = 1; i <= options.instances; ++i) {
    logs.push_back(dir / fmt::format("instance-{}.log", i));
    std::vector<std::string> argv{self, "process", "--bootstrap", broker.bootstrap(), "--state-dir",
                                  (dir / fmt::format("state-{}", i)).string(), "--instance-id",
                                  fmt::format("demo-{}", i), "-X", "consumer.session.timeout.ms=3000", "-X",
                                  "consumer.heartbeat.interval.ms=500"};
    for (const auto& setting : options.process_settings) {
      argv.push_back("-X");
      argv.push_back(setting);
    }
    instances.push_back(std::make_unique<ChildProcess>(argv, logs.back()));
    fmt::print("instance demo-{}: pid {}, log {}\n", i, instances.back()->pid(), logs.back().string());
  }
  fmt::print("waiting for the processor group to settle (the embedded broker rebalances in steps of ~2 s)...\n");
  wait_for_group(logs, options.partitions, stop);

  // Two phases: a burst as fast as the producer goes (throughput, and latency under a
  // backlog), then a steady rate well below capacity (latency of a system keeping up).
  const int64_t burst_n = options.requests;
  const int64_t steady_n = options.steady_rate * options.steady_seconds;
  const int64_t users = std::max<int64_t>(1000, (burst_n + steady_n) * 2 / 5);
  int64_t duplicates = 0, undecidable = 0, steady_duplicates = 0, none = 0;
  const auto burst = make_load(coupons, 0, burst_n, users, options.seed, true, duplicates, undecidable);
  const auto steady = make_load(coupons, burst_n, steady_n, users, options.seed + 1, false, steady_duplicates, none);

  // The subscriber reads every result topic as a downstream service would, and records
  // each request's latency: first result read minus first send.
  const auto total_requests = static_cast<size_t>(burst_n + steady_n);
  std::vector<std::atomic<int64_t>> send_ns(total_requests);
  std::vector<int64_t> latency_us(total_requests, -1);
  std::atomic<int64_t> answered{0};
  std::atomic<bool> subscriber_done{false};
  auto now_ns = [] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
  };
  std::thread subscriber([&] {
    kafka::KafkaConsumer consumer(client, "couponflow-demo-subscriber", nullptr);
    std::vector<std::pair<TopicPartition, std::optional<Offset>>> assignment;
    for (const char* topic : {"coupon-issued", "coupon-rejected", "coupon-issuance-dlq"}) {
      for (int p = 0; p < options.partitions; ++p) assignment.push_back({{topic, Partition{p}}, Offset{0}});
    }
    consumer.assign(assignment);
    std::vector<Record> batch;
    std::string error;
    while (!subscriber_done.load() && !stop.load()) {
      batch.clear();
      consumer.poll(batch, 10'000, 20);
      const int64_t t = now_ns();
      for (const auto& r : batch) {
        if (r.topic == "coupon-issuance-dlq") continue;
        auto result = coupon::parse_result(r.value.value_or(""), error);
        if (!result || result->request_id.rfind("d-", 0) != 0) continue;
        const auto i = static_cast<size_t>(std::stoll(result->request_id.substr(2)));
        if (i < latency_us.size() && latency_us[i] < 0) latency_us[i] = (t - send_ns[i].load()) / 1000;
      }
      answered += static_cast<int64_t>(batch.size());
    }
  });

  int64_t expected_answers = 0;
  // Sends `records` (at `rate` per second, 0: unpaced) and waits for every answer,
  // printing progress once a second. Returns the seconds from first send to last answer.
  auto run_phase = [&](const std::vector<PlannedRecord>& records, int64_t rate) {
    expected_answers += static_cast<int64_t>(records.size());
    const auto start = Clock::now();
    std::atomic<int64_t> sent{0};
    std::thread sender([&] {
      for (const auto& r : records) {
        if (stop.load()) break;
        if (rate > 0) {
          const auto due = start + std::chrono::nanoseconds(sent.load() * 1'000'000'000 / rate);
          std::this_thread::sleep_until(due);
        }
        if (r.request_index >= 0) {
          auto& t = send_ns[static_cast<size_t>(r.request_index)];
          if (t.load() == 0) t.store(now_ns());
        }
        producer.send("coupon-issuance", std::nullopt, Message{r.key, r.value, wall_ms(), {}});
        sent.fetch_add(1, std::memory_order_relaxed);
        if (rate > 0) producer.poll();
      }
    });
    int64_t last_answered = answered.load();
    auto last_tick = Clock::now();
    while (answered.load() < expected_answers && !stop.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (seconds_since(last_tick) < 1.0) continue;
      const int64_t a = answered.load();
      fmt::print("[{:5.1f} s] sent {:>7}  answered {:>7}  ({:>7.0f} answers/s)\n", seconds_since(start), sent.load(),
                 a - (expected_answers - static_cast<int64_t>(records.size())),
                 static_cast<double>(a - last_answered) / seconds_since(last_tick));
      last_answered = a;
      last_tick = Clock::now();
      for (auto& i : instances) {
        if (auto status = i->poll()) throw FatalError(fmt::format("instance pid {} exited with {}", i->pid(), *status));
      }
      if (seconds_since(start) > 300) throw FatalError("not every request was answered within 300 s");
    }
    const double elapsed = seconds_since(start);
    sender.join();
    producer.flush(30'000);
    if (stop.load()) throw FatalError("interrupted");
    return elapsed;
  };
  auto latency_line = [&](int64_t from, int64_t to) {
    std::vector<int64_t> l;
    for (auto i = from; i < to; ++i) {
      if (latency_us[static_cast<size_t>(i)] >= 0) l.push_back(latency_us[static_cast<size_t>(i)]);
    }
    std::sort(l.begin(), l.end());
    return fmt::format("p50 {:.1f} ms, p95 {:.1f} ms, p99 {:.1f} ms, max {:.1f} ms ({} requests)",
                       percentile(l, 0.50) / 1000.0, percentile(l, 0.95) / 1000.0, percentile(l, 0.99) / 1000.0,
                       l.empty() ? 0.0 : l.back() / 1000.0, l.size());
  };

  fmt::print("burst: {} records ({} resent duplicates, {} undecidable), as fast as the producer goes\n",
             burst.size(), duplicates, undecidable);
  const double burst_seconds = run_phase(burst, 0);
  fmt::print("steady: {} records at {} requests/s\n", steady.size(), options.steady_rate);
  run_phase(steady, options.steady_rate);
  subscriber_done = true;
  subscriber.join();

  fmt::print("\n");
  const auto report = verify_topics(client, coupon::CouponTopics{});
  fmt::print("{}", format_report(report));
  fmt::print("\nburst throughput: {:.0f} records/s end to end ({} records sent and answered in {:.2f} s)\n",
             static_cast<double>(burst.size()) / burst_seconds, burst.size(), burst_seconds);
  fmt::print("latency, producer send -> result read by a subscriber:\n");
  fmt::print("  burst (includes waiting behind the backlog): {}\n", latency_line(0, burst_n));
  fmt::print("  steady at {}/s:                          {}\n", options.steady_rate, latency_line(burst_n, burst_n + steady_n));
  fmt::print("DLQ: {} entries\n", report.dlq_entries);

  bool clean = true;
  for (size_t i = 0; i < instances.size(); ++i) {
    auto status = instances[i]->terminate(std::chrono::seconds(30));
    if (!status) status = instances[i]->kill();
    clean = clean && *status == 0;
    fmt::print("instance demo-{} stopped with exit code {}\n", i + 1, *status);
  }
  fmt::print("verify: {}\n", report.ok() ? "PASS" : "FAIL");
  if (own_dir && report.ok() && clean) std::filesystem::remove_all(dir);
  if (!report.ok() || !clean) fmt::print("logs kept in {}\n", dir.string());
  return report.ok() && clean ? 0 : 1;
}

}  // namespace couponflow::ops
