#pragma once
// Kafka's default partitioner: murmur2 of the key bytes, made positive, modulo the
// partition count. Identical to Java's `Utils.toPositive(Utils.murmur2(key)) % n` and
// to librdkafka's `murmur2_random` for non-null keys, so every producer of ours, of Java
// and of Spring agrees on where a coupon's records live.

#include <cstdint>
#include <string_view>

#include "common/types.h"

namespace couponflow {

/// Kafka's murmur2 (seed 0x9747b28c), returned as Java's signed 32-bit result.
int32_t murmur2(std::string_view key);

/// The partition Kafka's default partitioner assigns to a non-null key.
Partition murmur2_partition(std::string_view key, int32_t partition_count);

}  // namespace couponflow
