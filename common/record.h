#pragma once
// Records as they flow through the engine.
//
// `Record` is what a source read: its bytes are views into a buffer owned by the record
// itself (for Kafka input, the librdkafka message), so reading a record copies nothing.
// `Message` is what a processor emits: plain views, valid for the duration of the call
// that receives them (sinks copy them into the producer).

#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "common/types.h"

namespace couponflow {

struct Header {
  std::string_view key;
  std::string_view value;
};

/// Owns the bytes a Record's views point into. Type-erased so that no client library
/// type leaks into the engine's headers.
using RecordStorage = std::unique_ptr<void, void (*)(void*)>;

inline RecordStorage no_storage() { return RecordStorage(nullptr, [](void*) {}); }

struct Record {
  std::string_view topic;
  Partition partition;
  Offset offset;
  EpochMillis timestamp = 0;
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;  // nullopt: a tombstone
  RecordStorage storage = no_storage();
};

/// An output record. The destination topic and partition are decided by the sink.
struct Message {
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;
  EpochMillis timestamp = 0;
  std::span<const Header> headers;
};

}  // namespace couponflow
