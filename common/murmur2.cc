#include "common/murmur2.h"

#include <cstring>

namespace couponflow {

int32_t murmur2(std::string_view key) {
  // Transcribed from org.apache.kafka.common.utils.Utils.murmur2; unsigned arithmetic
  // gives the same bits as Java's wrapping int arithmetic.
  constexpr uint32_t seed = 0x9747b28c;
  constexpr uint32_t m = 0x5bd1e995;
  constexpr int r = 24;
  const auto* data = reinterpret_cast<const unsigned char*>(key.data());
  const size_t length = key.size();
  uint32_t h = seed ^ static_cast<uint32_t>(length);
  const size_t length4 = length / 4;
  for (size_t i = 0; i < length4; ++i) {
    const size_t i4 = i * 4;
    uint32_t k = static_cast<uint32_t>(data[i4 + 0]) | (static_cast<uint32_t>(data[i4 + 1]) << 8) |
                 (static_cast<uint32_t>(data[i4 + 2]) << 16) |
                 (static_cast<uint32_t>(data[i4 + 3]) << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const size_t tail = length & ~size_t{3};
  switch (length % 4) {
    case 3: h ^= static_cast<uint32_t>(data[tail + 2]) << 16; [[fallthrough]];
    case 2: h ^= static_cast<uint32_t>(data[tail + 1]) << 8; [[fallthrough]];
    case 1:
      h ^= static_cast<uint32_t>(data[tail]);
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  int32_t result;
  std::memcpy(&result, &h, sizeof result);
  return result;
}

Partition murmur2_partition(std::string_view key, int32_t partition_count) {
  const auto positive = static_cast<uint32_t>(murmur2(key)) & 0x7fffffffu;
  return Partition{static_cast<int32_t>(positive % static_cast<uint32_t>(partition_count))};
}

}  // namespace couponflow
