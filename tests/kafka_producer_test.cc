// The librdkafka producer on the embedded broker: what the runtime relies on beyond
// "records arrive", here that a producer's cached topic handles are its own.

#include <doctest/doctest.h>

#include <memory>

#include "processor/kafka/kafka_producer.h"
#include "tests/support/embedded_cluster.h"

using namespace couponflow;
using namespace couponflow::testing;

TEST_CASE("each producer on a thread sends with its own topic handles, also at a reused address") {
  // A thread remembers the topic handles it used last. A producer destroyed and another
  // created in its place (often at the same address) must not get the old one's handles:
  // they are freed with it, and a send would use freed memory or land nowhere.
  EmbeddedCluster cluster(1);
  const TopicPartition tp{"coupon-issuance", Partition{0}};
  for (int64_t round = 0; round < 3; ++round) {
    auto producer = std::make_unique<kafka::KafkaProducer>(cluster.client());
    producer->send(tp.topic, tp.partition, Message{std::string("k"), std::string("v"), 1, {}});
    producer->flush(10'000);
    // Acknowledged offsets are kept per handle of this producer: a stale handle would
    // leave this empty.
    CHECK(producer->last_acked_offset(tp) == Offset{round});
  }
}
