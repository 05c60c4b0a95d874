// couponflow_restore_bench: how fast a task store is rebuilt from its changelog, next
// to how fast a plain librdkafka consumer reads the same changelog from the same
// embedded broker (the ceiling for any restore).
//
//   --mode raw      read every partition of the changelog from 0 to its end;
//   --mode restore  a processor instance with an empty state directory, assigned every
//                   partition: the time from the assignment (the group handing it the
//                   partitions) until all its tasks have restored and run, opening
//                   their stores included.
//
// Both run against a changelog preloaded with --records holdings (default 600,000 over
// 12 partitions, ~50k each: under the embedded broker's 5 MB / 100k message sets).
// Output: mode=... records=N bytes=B seconds=S rate=R mbps=M cpu_seconds=C
// cpu_us_per_record=U broker=..., where C is this process's CPU time (user + system,
// every thread: getrusage) over the measured window.
//
// By default the embedded broker runs inside this process (its CPU is then counted
// too). With --bootstrap it is another process (`couponflow broker`, created with
// --application-id matching ours): --mode preload fills its changelog once, then each
// raw or restore run reads that same changelog, and the CPU figure is the reader's or
// the restoring instance's alone (bench/restore.sh).

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <mutex>
#include <optional>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "common/log.h"
#include "common/murmur2.h"
#include "ops/embedded_topics.h"
#include "processor/kafka/embedded_broker.h"
#include "processor/kafka/kafka_client_supplier.h"
#include "processor/kafka/kafka_consumer.h"
#include "processor/kafka/kafka_producer.h"
#include "processor/stream_thread.h"
#include "state/store_spec.h"
#include "topology/coupon/coupon_topology.h"
#include "topology/coupon/issued_state.h"

namespace couponflow::bench {
namespace {

using Clock = std::chrono::steady_clock;

/// What one run measured.
struct Measured {
  double seconds = 0;
  double cpu_seconds = 0;
  double rss_mb = 0;  // resident memory at the end of the measured window
  double rss_settled_mb = 0;  // restore with --settle-seconds: the same, that much later
};

/// Resident memory of this process, in MB (/proc/self/statm: pages).
double resident_mb() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  long long size = 0, resident = 0;
  const int n = std::fscanf(f, "%lld %lld", &size, &resident);
  std::fclose(f);
  return n == 2 ? static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE)) / 1e6 : 0;
}

/// CPU time of this process (every thread), user + system.
double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return s(usage.ru_utime) + s(usage.ru_stime);
}

std::string changelog_of(const std::string& application_id) {
  return state::changelog_topic(application_id, coupon::issued_store_spec());
}

/// Holdings as the issued store logs them, partitioned like the coupon's requests, sent
/// to `client` (nullptr: counted only, for a changelog preloaded by another run). The
/// bytes of keys and values.
int64_t preload_changelog(const kafka::ClientProperties* client, const std::string& changelog, int64_t records,
                          int partitions) {
  std::unique_ptr<kafka::KafkaProducer> producer;
  if (client != nullptr) {
    // Large batches: the embedded broker returns one message set per partition per
    // fetch, so the set size, not the record count, bounds how fast anything reads.
    kafka::ClientProperties props = *client;
    props.set("linger.ms", "100").set("batch.num.messages", "10000").set("batch.size", "1000000");
    producer = std::make_unique<kafka::KafkaProducer>(props);
  }
  std::string key, value;
  int64_t bytes = 0;
  for (int64_t i = 0; i < records; ++i) {
    const std::string coupon = fmt::format("coupon-{:02}", i % 48);
    coupon::holding_key(key, coupon, fmt::format("user-{}", i));
    coupon::encode_holding(value, i / 48 + 1, fmt::format("r-{}", i));
    if (producer) producer->send(changelog, murmur2_partition(coupon, partitions), Message{key, value, 0, {}});
    bytes += static_cast<int64_t>(key.size() + value.size());
  }
  if (producer) producer->flush(120'000);
  return bytes;
}

Measured read_raw(const kafka::ClientProperties& client, const std::string& changelog, int partitions,
                  int64_t records) {
  kafka::KafkaConsumer consumer(client, "bench-raw-reader", nullptr);
  std::vector<std::pair<TopicPartition, std::optional<Offset>>> assignment;
  for (int p = 0; p < partitions; ++p) assignment.push_back({{changelog, Partition{p}}, Offset{0}});
  const auto start = Clock::now();
  const double cpu_at_start = process_cpu_seconds();
  consumer.assign(assignment);
  std::vector<Record> batch;
  int64_t seen = 0;
  while (seen < records) {
    batch.clear();
    seen += static_cast<int64_t>(consumer.poll(batch, 10'000, 100));
  }
  return {std::chrono::duration<double>(Clock::now() - start).count(), process_cpu_seconds() - cpu_at_start,
          resident_mb()};
}

/// librdkafka's clients, with the group consumer's assignment timed: when the group
/// hands the partitions over, the restore begins (the stream thread then opens the
/// tasks' stores, reads their changelogs, and starts them).
class AssignmentTimingSupplier final : public processor::ClientSupplier, private processor::RebalanceListener {
 public:
  std::unique_ptr<processor::Consumer> consumer(const kafka::ClientProperties& properties, const std::string& group_id,
                                                processor::RebalanceListener* listener) override {
    if (listener == nullptr) return kafka_.consumer(properties, group_id, nullptr);
    thread_listener_ = listener;
    return kafka_.consumer(properties, group_id, this);
  }
  std::unique_ptr<processor::Producer> producer(const kafka::ClientProperties& properties) override {
    return kafka_.producer(properties);
  }
  std::unique_ptr<processor::Admin> admin(const kafka::ClientProperties& properties) override {
    return kafka_.admin(properties);
  }

  /// The first assignment: when it began, and the process's CPU time then.
  std::optional<std::pair<Clock::time_point, double>> assigned() const {
    std::lock_guard lock(mutex_);
    return assigned_;
  }

 private:
  void on_assigned(const std::vector<TopicPartition>& partitions) override {
    {
      std::lock_guard lock(mutex_);
      if (!assigned_) assigned_.emplace(Clock::now(), process_cpu_seconds());
    }
    thread_listener_->on_assigned(partitions);
  }
  void on_revoked(const std::vector<TopicPartition>& partitions) override { thread_listener_->on_revoked(partitions); }
  void on_lost(const std::vector<TopicPartition>& partitions) override { thread_listener_->on_lost(partitions); }

  kafka::KafkaClientSupplier kafka_;
  processor::RebalanceListener* thread_listener_ = nullptr;
  mutable std::mutex mutex_;
  std::optional<std::pair<Clock::time_point, double>> assigned_;
};

Measured restore(const std::string& bootstrap, const std::string& application_id, int64_t records,
                 int settle_seconds) {
  processor::StreamsConfig config;
  config.bootstrap = bootstrap;
  config.application_id = application_id;
  config.state_dir = std::filesystem::temp_directory_path() / fmt::format("couponflow-restore-bench-{}", ::getpid());
  std::filesystem::remove_all(config.state_dir);
  const auto topology = coupon::build_coupon_topology();
  auto clients = std::make_shared<AssignmentTimingSupplier>();
  processor::StreamThread thread(topology, config, nullptr, clients);
  std::atomic<bool> stop{false};
  std::thread runner([&] { thread.run(stop); });
  // Polled every millisecond: finer polling would charge this thread's wake-ups to the
  // restore's CPU time.
  for (;;) {
    const auto s = thread.status();
    bool all = !s.tasks.empty();
    uint64_t restored = 0;
    for (const auto& t : s.tasks) {
      all = all && t.state == processor::TaskState::kRunning;
      restored += t.restored;
    }
    if (all) {
      if (restored < static_cast<uint64_t>(records)) throw std::runtime_error("restored fewer records than logged");
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const auto [start, cpu_at_start] = clients->assigned().value();  // tasks ran: they were assigned
  // Every task runs: its store holds every holding (RocksDB, and the cache up to its budget).
  Measured m{std::chrono::duration<double>(Clock::now() - start).count(), process_cpu_seconds() - cpu_at_start,
             resident_mb()};
  // The instance runs on, idle: memory freed by the restore goes back to the system at
  // jemalloc's pace (its dirty pages decay over 10 s), which is what a process keeps.
  if (settle_seconds > 0) {
    std::this_thread::sleep_for(std::chrono::seconds(settle_seconds));
    m.rss_settled_mb = resident_mb();
  }
  stop = true;
  runner.join();
  std::filesystem::remove_all(config.state_dir);
  return m;
}

}  // namespace
}  // namespace couponflow::bench

int main(int argc, char** argv) {
  using namespace couponflow;
  std::string mode = "restore";
  int64_t records = 600'000;
  int partitions = 12;
  std::string bootstrap;  // an external broker (see above); empty: embedded, in-process
  std::string application_id = "coupon-processor";
  CLI::App app{"couponflow restore bench: store restore vs a raw changelog read on the embedded broker"};
  app.add_option("--mode", mode)->check(CLI::IsMember({"raw", "restore", "preload"}));
  app.add_option("--records", records);
  int settle_seconds = 0;
  app.add_option("--settle-seconds", settle_seconds,
                 "restore: then idle this long and report rss_settled_mb (resident memory kept)");
  app.add_option("--partitions", partitions);
  app.add_option("--bootstrap", bootstrap, "an external broker (couponflow broker) instead of an in-process one");
  app.add_option("--application-id", application_id, "whose issued changelog is preloaded, read and restored");
  bool debug = false;
  app.add_flag("--debug", debug, "the engine's debug log on stderr (a timeline of the restore)");
  CLI11_PARSE(app, argc, argv);
  log::set_min_level(debug ? log::Level::kDebug : log::Level::kWarn);

  std::unique_ptr<kafka::EmbeddedBroker> broker;
  if (bootstrap.empty()) {
    broker = std::make_unique<kafka::EmbeddedBroker>(1);
    ops::create_topology_topics(*broker, coupon::build_coupon_topology(), {application_id}, partitions);
    bootstrap = broker->bootstrap();
  }
  const kafka::ClientProperties client{{"bootstrap.servers", bootstrap}};
  const std::string changelog = bench::changelog_of(application_id);
  // The bytes of the preload are computed either way: the generator is deterministic.
  const int64_t bytes = bench::preload_changelog(broker || mode == "preload" ? &client : nullptr, changelog,
                                                 records, partitions);
  if (mode == "preload") {
    std::printf("mode=preload records=%lld bytes=%lld\n", static_cast<long long>(records),
                static_cast<long long>(bytes));
    return 0;
  }
  const bench::Measured m = mode == "raw" ? bench::read_raw(client, changelog, partitions, records)
                                          : bench::restore(bootstrap, application_id, records, settle_seconds);
  std::printf("mode=%s records=%lld bytes=%lld seconds=%.3f rate=%.0f mbps=%.1f cpu_seconds=%.3f "
              "cpu_us_per_record=%.3f rss_mb=%.0f rss_settled_mb=%.0f broker=%s\n",
              mode.c_str(), static_cast<long long>(records), static_cast<long long>(bytes), m.seconds,
              static_cast<double>(records) / m.seconds, static_cast<double>(bytes) / m.seconds / 1e6, m.cpu_seconds,
              m.cpu_seconds * 1e6 / static_cast<double>(records), m.rss_mb, m.rss_settled_mb,
              broker ? "in-process" : "external");
  return 0;
}
