#pragma once
// Vocabulary types shared by every layer: partitions, offsets, topic-partitions, task ids.
// Strong types keep a partition from being passed where an offset is expected.

#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace couponflow {

/// A Kafka partition number (0-based).
struct Partition {
  int32_t value = 0;
  constexpr auto operator<=>(const Partition&) const = default;
};

/// A Kafka log offset. `Offset{n}` is the position of a record; "next offset" values
/// (what consumers commit) use the same type and say so in their names.
struct Offset {
  int64_t value = 0;
  constexpr auto operator<=>(const Offset&) const = default;
  constexpr Offset next() const { return Offset{value + 1}; }
};

struct TopicPartition {
  std::string topic;
  Partition partition;
  auto operator<=>(const TopicPartition&) const = default;
};

/// A task processes one partition of every source of the topology. Kafka Streams names
/// tasks "<subtopology>_<partition>"; we have a single sub-topology, so "0_<partition>".
struct TaskId {
  Partition partition;
  auto operator<=>(const TaskId&) const = default;
  std::string str() const { return fmt::format("0_{}", partition.value); }
};

/// Milliseconds since the Unix epoch, the unit of Kafka record timestamps.
using EpochMillis = int64_t;

}  // namespace couponflow

template <>
struct std::hash<couponflow::TopicPartition> {
  size_t operator()(const couponflow::TopicPartition& tp) const noexcept {
    return std::hash<std::string>{}(tp.topic) * 31u + static_cast<size_t>(tp.partition.value);
  }
};

template <>
struct fmt::formatter<couponflow::Partition> : fmt::formatter<int32_t> {
  auto format(couponflow::Partition p, format_context& ctx) const {
    return fmt::formatter<int32_t>::format(p.value, ctx);
  }
};
template <>
struct fmt::formatter<couponflow::Offset> : fmt::formatter<int64_t> {
  auto format(couponflow::Offset o, format_context& ctx) const {
    return fmt::formatter<int64_t>::format(o.value, ctx);
  }
};
template <>
struct fmt::formatter<couponflow::TopicPartition> : fmt::formatter<std::string_view> {
  auto format(const couponflow::TopicPartition& tp, format_context& ctx) const {
    return fmt::format_to(ctx.out(), "{}-{}", tp.topic, tp.partition.value);
  }
};
template <>
struct fmt::formatter<couponflow::TaskId> : fmt::formatter<std::string_view> {
  auto format(const couponflow::TaskId& id, format_context& ctx) const {
    return fmt::format_to(ctx.out(), "0_{}", id.partition.value);
  }
};
