// couponflow_restore_bench: how fast a task store is rebuilt from its changelog, next
// to how fast a plain librdkafka consumer reads the same changelog from the same
// embedded broker (the ceiling for any restore).
//
//   --mode raw      read every partition of the changelog from 0 to its end;
//   --mode restore  a processor instance with an empty state directory, assigned every
//                   partition: the time until all its tasks have restored and run.
//
// Both run against a changelog preloaded with --records holdings (default 600,000 over
// 12 partitions, ~50k each: under the embedded broker's 5 MB / 100k message sets).
// Output: mode=... records=N bytes=B seconds=S rate=R mbps=M

#include <chrono>
#include <cstdio>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "common/log.h"
#include "common/murmur2.h"
#include "ops/embedded_topics.h"
#include "processor/kafka/embedded_broker.h"
#include "processor/kafka/kafka_consumer.h"
#include "processor/kafka/kafka_producer.h"
#include "processor/stream_thread.h"
#include "topology/coupon/coupon_topology.h"
#include "topology/coupon/issued_state.h"

namespace couponflow::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kChangelog = "coupon-processor-issued-changelog";

/// Holdings as the issued store logs them, partitioned like the coupon's requests.
int64_t preload_changelog(const kafka::ClientProperties& client, int64_t records, int partitions) {
  // Large batches: the embedded broker returns one message set per partition per
  // fetch, so the set size, not the record count, bounds how fast anything reads.
  kafka::ClientProperties props = client;
  props.set("linger.ms", "100").set("batch.num.messages", "10000").set("batch.size", "1000000");
  kafka::KafkaProducer producer(props);
  std::string key, value;
  int64_t bytes = 0;
  for (int64_t i = 0; i < records; ++i) {
    const std::string coupon = fmt::format("coupon-{:02}", i % 48);
    coupon::holding_key(key, coupon, fmt::format("user-{}", i));
    coupon::encode_holding(value, i / 48 + 1, fmt::format("r-{}", i));
    producer.send(kChangelog, murmur2_partition(coupon, partitions), Message{key, value, 0, {}});
    bytes += static_cast<int64_t>(key.size() + value.size());
  }
  producer.flush(120'000);
  return bytes;
}

double read_raw(const kafka::ClientProperties& client, int partitions, int64_t records) {
  kafka::KafkaConsumer consumer(client, "bench-raw-reader", nullptr);
  std::vector<std::pair<TopicPartition, std::optional<Offset>>> assignment;
  for (int p = 0; p < partitions; ++p) assignment.push_back({{kChangelog, Partition{p}}, Offset{0}});
  const auto start = Clock::now();
  consumer.assign(assignment);
  std::vector<Record> batch;
  int64_t seen = 0;
  while (seen < records) {
    batch.clear();
    seen += static_cast<int64_t>(consumer.poll(batch, 10'000, 100));
  }
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double restore(const std::string& bootstrap, int64_t records) {
  processor::StreamsConfig config;
  config.bootstrap = bootstrap;
  config.state_dir = std::filesystem::temp_directory_path() / fmt::format("couponflow-restore-bench-{}", ::getpid());
  std::filesystem::remove_all(config.state_dir);
  const auto topology = coupon::build_coupon_topology();
  processor::StreamThread thread(topology, config);
  std::atomic<bool> stop{false};
  std::thread runner([&] { thread.run(stop); });
  // From the assignment (tasks appear) to every task running: the restore itself.
  Clock::time_point start;
  for (;;) {
    if (!thread.status().tasks.empty()) {
      start = Clock::now();
      break;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
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
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  stop = true;
  runner.join();
  std::filesystem::remove_all(config.state_dir);
  return seconds;
}

}  // namespace
}  // namespace couponflow::bench

int main(int argc, char** argv) {
  using namespace couponflow;
  std::string mode = "restore";
  int64_t records = 600'000;
  int partitions = 12;
  CLI::App app{"couponflow restore bench: store restore vs a raw changelog read on the embedded broker"};
  app.add_option("--mode", mode)->check(CLI::IsMember({"raw", "restore"}));
  app.add_option("--records", records);
  app.add_option("--partitions", partitions);
  CLI11_PARSE(app, argc, argv);
  log::set_min_level(log::Level::kWarn);

  kafka::EmbeddedBroker broker(1);
  ops::create_topology_topics(broker, coupon::build_coupon_topology(), {"coupon-processor"}, partitions);
  const kafka::ClientProperties client{{"bootstrap.servers", broker.bootstrap()}};
  const int64_t bytes = bench::preload_changelog(client, records, partitions);
  const double seconds = mode == "raw" ? bench::read_raw(client, partitions, records)
                                       : bench::restore(broker.bootstrap(), records);
  std::printf("mode=%s records=%lld bytes=%lld seconds=%.3f rate=%.0f mbps=%.1f\n", mode.c_str(),
              static_cast<long long>(records), static_cast<long long>(bytes), seconds,
              static_cast<double>(records) / seconds, static_cast<double>(bytes) / seconds / 1e6);
  return 0;
}
