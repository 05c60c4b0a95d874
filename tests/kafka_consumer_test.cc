// The librdkafka consumer's contract with the runtime, on the embedded broker: what it
// says about a partition's progress is never from before the partition's assignment.

#include <doctest/doctest.h>


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
