// The librdkafka consumer's contract with the runtime, on the embedded broker: what it
// says about a partition's progress is never from before the partition's assignment, and
// what it returns is never from before a rebalance callback that took the partition away.

#include <doctest/doctest.h>

#include <map>
#include <thread>

#include "common/errors.h"
#include "processor/kafka/kafka_consumer.h"
#include "tests/support/embedded_cluster.h"

using namespace couponflow;
using namespace couponflow::testing;
using processor::SourceProgress;

namespace {

void produce(EmbeddedCluster& cluster, const std::string& topic, Partition p, int n) {
  for (int i = 0; i < n; ++i) cluster.producer().send(topic, p, Message{std::string("k"), std::string("v"), 1, {}});
  cluster.flush();
}

/// Polls until `n` records arrived (or 10 s passed); returns them.
std::vector<Record> poll_records(processor::Consumer& consumer, size_t n) {
  std::vector<Record> out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (out.size() < n && std::chrono::steady_clock::now() < deadline) consumer.poll(out, n - out.size(), 100);
  return out;
}

}  // namespace

TEST_CASE("a high watermark cached before a reassignment never makes a grown log look caught up") {
  EmbeddedCluster cluster(1);
  const TopicPartition tp{"coupon-catalog", Partition{0}};
  produce(cluster, tp.topic, tp.partition, 5);
  kafka::KafkaConsumer consumer(cluster.client(), "progress-test", nullptr);
  consumer.assign({{tp, Offset{0}}});
  CHECK(consumer.progress(tp, Offset{0}) == SourceProgress::kUnknown);  // nothing fetched yet
  REQUIRE(poll_records(consumer, 5).size() == 5);
  CHECK(consumer.progress(tp, Offset{5}) == SourceProgress::kCaughtUp);

  // The partition goes away, the log grows, the partition comes back.
  consumer.unassign({tp});
  produce(cluster, tp.topic, tp.partition, 5);
  consumer.assign({{tp, Offset{5}}});
  // librdkafka still caches a high watermark of 5: until a fetch since the assignment
  // answers, nothing is known (a reader trusting it would skip waiting for 5..9).
  CHECK(consumer.progress(tp, Offset{5}) == SourceProgress::kUnknown);
  CHECK_FALSE(consumer.cached_high_watermark(tp).has_value());
  auto records = poll_records(consumer, 5);
  REQUIRE(records.size() == 5);
  CHECK(records.front().offset == Offset{5});
  CHECK(consumer.progress(tp, Offset{10}) == SourceProgress::kCaughtUp);
  CHECK(consumer.cached_high_watermark(tp) == Offset{10});
}

TEST_CASE("watermarks of many partitions at once are those of each asked alone") {
  EmbeddedCluster cluster(3);
  produce(cluster, "coupon-catalog", Partition{0}, 3);
  produce(cluster, "coupon-catalog", Partition{2}, 7);
  produce(cluster, "coupon-issuance", Partition{1}, 4);
  kafka::KafkaConsumer consumer(cluster.client(), "watermarks-test", nullptr);
  std::vector<TopicPartition> partitions;
  for (const std::string topic : {"coupon-catalog", "coupon-issuance"}) {
    for (int p = 0; p < 3; ++p) partitions.push_back({topic, Partition{p}});
  }
  const auto all = consumer.query_watermarks(partitions, 10'000);
  REQUIRE(all.size() == partitions.size());
  for (const auto& tp : partitions) {
    CAPTURE(tp);
    const auto alone = consumer.query_watermarks(tp, 10'000);
    CHECK(all.at(tp).low == alone.low);
    CHECK(all.at(tp).high == alone.high);
  }
  CHECK(all.at({"coupon-catalog", Partition{2}}).high == Offset{7});
  CHECK(all.at({"coupon-issuance", Partition{0}}).high == Offset{0});
  CHECK(consumer.query_watermarks(std::vector<TopicPartition>{}, 10'000).empty());
  // A partition the cluster does not have is an error, never a made-up offset.
  CHECK_THROWS_AS(consumer.query_watermarks(std::vector<TopicPartition>{{"coupon-catalog", Partition{9}}}, 1'000),
                  RetriableError);
}

TEST_CASE("a resumed partition is fetched at once, not at the client's next idle wake-up") {
  // librdkafka 2.0.2's broker thread learns of a resume only when it wakes up for
  // something else, up to 1 s later: every task start (a restored task resumes its
  // input) stalled that long before resume() woke it.
  EmbeddedCluster cluster(1);
  const TopicPartition tp{"coupon-issuance", Partition{0}};
  produce(cluster, tp.topic, tp.partition, 3);
  kafka::KafkaConsumer consumer(cluster.client(), "resume-test", nullptr);
  consumer.assign({{tp, Offset{0}}});
  consumer.pause({tp});
  // Long enough for the client to settle into its idle wait on the paused partition.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto resumed = std::chrono::steady_clock::now();
  consumer.resume({tp});
  const auto records = poll_records(consumer, 3);
  const auto waited = std::chrono::steady_clock::now() - resumed;
  REQUIRE(records.size() == 3);
  CHECK(records.front().offset == Offset{0});
  // Not a speed figure: 1 s is librdkafka's idle wake-up, which the fix must not wait for.
  CHECK(waited < std::chrono::milliseconds(600));
}

TEST_CASE("resume() waits for no broker: many partitions at once, or with the broker down") {
  // Its wake-up request is sent, not awaited: a stream thread that starts 24 restored
  // tasks, or resumes input while the broker is unreachable, must not stall on it. (It
  // did: a watermark query per partition, each waiting for its reply; with the broker
  // down, until the request timed out.) The bounds below are not speed figures: with a
  // 1 s round trip, any reply waited for takes longer than them.
  EmbeddedCluster cluster(12);
  std::vector<TopicPartition> partitions;
  for (int32_t p = 0; p < 12; ++p) partitions.push_back({"coupon-issuance", Partition{p}});
  for (const auto& tp : partitions) produce(cluster, tp.topic, tp.partition, 1);
  kafka::KafkaConsumer consumer(cluster.client(), "resume-many-test", nullptr);
  std::vector<std::pair<TopicPartition, std::optional<Offset>>> from_start;
  for (const auto& tp : partitions) from_start.emplace_back(tp, Offset{0});
  consumer.assign(from_start);
  consumer.pause(partitions);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  cluster.broker().set_broker_rtt(1, 1000);  // each round trip now takes 1 s
  auto started = std::chrono::steady_clock::now();
  consumer.resume(partitions);
  // One round trip per partition would take 12 s; none is waited for.
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::milliseconds(500));
  cluster.broker().set_broker_rtt(1, 0);
  CHECK(poll_records(consumer, 12).size() == 12);

  consumer.pause(partitions);
  cluster.broker().set_broker_down(1);
  started = std::chrono::steady_clock::now();
  consumer.resume(partitions);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::milliseconds(500));
  cluster.broker().set_broker_up(1);
}

namespace {

/// A group member's rebalance listener that takes what it is given from offset 0 and
/// remembers what it owns, for checking each polled record against it.
struct OwnershipRecorder final : processor::RebalanceListener {
  kafka::KafkaConsumer* consumer = nullptr;
  std::map<TopicPartition, Offset> next;  // owned partitions and the offset expected next
  int revocations = 0;

  void on_assigned(const std::vector<TopicPartition>& partitions) override {
    std::vector<std::pair<TopicPartition, std::optional<Offset>>> at;
    for (const auto& tp : partitions) {
      next[tp] = Offset{0};
      at.emplace_back(tp, Offset{0});
    }
    consumer->assign(at);
  }
  void on_revoked(const std::vector<TopicPartition>& partitions) override {
    ++revocations;
    for (const auto& tp : partitions) next.erase(tp);
  }
  void on_lost(const std::vector<TopicPartition>& partitions) override { on_revoked(partitions); }

  /// Polls a few records and checks each: of an owned partition, at the offset after the
  /// previous one. Returns how many arrived.
  size_t poll_and_check(int timeout_ms) {
    std::vector<Record> out;
    consumer->poll(out, 7, timeout_ms);
    for (const auto& r : out) {
      const TopicPartition tp{std::string(r.topic), r.partition};
      auto it = next.find(tp);
      REQUIRE_MESSAGE(it != next.end(), "a record of " << tp.topic << "-" << tp.partition.value << " at "
                                                       << r.offset.value << " after its revocation");
      REQUIRE(r.offset == it->second);
      it->second = r.offset.next();
    }
    return out.size();
  }
};

}  // namespace

TEST_CASE("no record fetched before a revocation is returned after its callback") {
  // librdkafka prefetches far ahead of what a poll hands out. When the group takes a
  // partition away, nothing prefetched for it may reach the caller once the callback has
  // run: its task is closed, and a record routed there would be processed by whatever
  // owns it next, or skip offsets after an exactly-once abort reopens the task.
  EmbeddedCluster cluster(2);
  for (int32_t p = 0; p < 2; ++p) produce(cluster, "coupon-issuance", Partition{p}, 5000);
  auto client = cluster.client();
  // The embedded broker's group coordinator rebalances in (session timeout - 1 s).
  client.set("session.timeout.ms", "3000").set("heartbeat.interval.ms", "500");
  OwnershipRecorder first_listener, second_listener;
  kafka::KafkaConsumer first(client, "revocation-test", &first_listener);
  first_listener.consumer = &first;
  first.subscribe({"coupon-issuance"});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  // Small, slow polls: most fetched records wait in the client's queue when the
  // revocation comes, and some are left for after it.
  auto slow_poll = [](OwnershipRecorder& member) {
    const size_t n = member.poll_and_check(5);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return n;
  };
  size_t received = 0;
  while (received < 100 && std::chrono::steady_clock::now() < deadline) received += slow_poll(first_listener);
  REQUIRE(first_listener.next.size() == 2);

  kafka::KafkaConsumer second(client, "revocation-test", &second_listener);
  second_listener.consumer = &second;
  second.subscribe({"coupon-issuance"});
  size_t after = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    const size_t n = slow_poll(first_listener);
    slow_poll(second_listener);
    if (first_listener.revocations > 0) after += n;
    if (first_listener.next.size() == 1 && second_listener.next.size() == 1 && after >= 50) break;
  }
  CHECK(first_listener.revocations == 1);
  CHECK(first_listener.next.size() == 1);
  CHECK(second_listener.next.size() == 1);
  CHECK(after >= 50);  // the kept partition went on, in order
}
