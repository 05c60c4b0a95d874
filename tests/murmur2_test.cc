#include <doctest/doctest.h>
#include <librdkafka/rdkafka.h>

#include <random>
#include <string>

#include "common/murmur2.h"

using namespace couponflow;

TEST_CASE("murmur2 matches the Java client's published test vectors") {
  // From org.apache.kafka.common.utils.UtilsTest#testMurmur2.
  CHECK(murmur2("21") == -973932308);
  CHECK(murmur2("foobar") == -790332482);
  CHECK(murmur2("a-little-bit-long-string") == -985981536);
  CHECK(murmur2("a-little-bit-longer-string") == -1486304829);
  CHECK(murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8") == -58897971);
  CHECK(murmur2("abc") == 479470107);
}

TEST_CASE("murmur2 partitions agree with librdkafka's murmur2 partitioner for random keys") {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> len(0, 40), byte(0, 255);
  for (int i = 0; i < 5000; ++i) {
    std::string key(static_cast<size_t>(len(rng)), '\0');
    for (auto& c : key) c = static_cast<char>(byte(rng));
    for (int32_t partitions : {1, 3, 12, 100}) {
      const int32_t theirs =
          rd_kafka_msg_partitioner_murmur2(nullptr, key.data(), key.size(), partitions, nullptr, nullptr);
      REQUIRE(murmur2_partition(key, partitions).value == theirs);
    }
  }
}
