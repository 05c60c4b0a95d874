#pragma once
// The Processor API: what a topology's processing nodes implement and what they may ask
// of the engine while they run.

#include <cstdint>
#include <string_view>

#include "common/record.h"
#include "common/types.h"
#include "state/key_value_store.h"
#include "topology/metrics.h"

namespace couponflow::topology {

/// A downstream node (sink or processor) of the current processor, resolved once in
/// `init` so that forwarding on the hot path is an index, not a name lookup.
struct ChildRef {
  uint32_t index = 0;
};

/// What a processor sees of its task. Owned by the task; valid from `init` to `close`.
/// Thread: the task's thread only.
class ProcessorContext {
 public:
  virtual ~ProcessorContext() = default;

  virtual TaskId task_id() const = 0;
  /// Partition count of the task's (co-partitioned) source topics.
  virtual int32_t source_partition_count() const = 0;
  /// Wall-clock time: the system clock in production, a manual clock in the test driver.
  virtual EpochMillis wall_clock_ms() const = 0;

  /// A store this processor declared. Throws std::out_of_range for an undeclared store.
  virtual state::KeyValueStore& store(std::string_view name) = 0;
  /// Read-only access to a declared store, a table store, or a view ("store.view").
  virtual state::ReadableStore& read_store(std::string_view name) = 0;

  /// Where the processor counts: resolve counters in init, add per record.
  virtual ProcessorMetrics& metrics() = 0;

  /// Resolves the name of a child node. Throws std::out_of_range for a non-child.
  virtual ChildRef child(std::string_view name) const = 0;
  /// Sends a message downstream. The message's views need only live during the call.
  virtual void forward(ChildRef child, const Message& message) = 0;
};

/// A processing node. One instance per task; the engine calls init once, then process
/// for each record in the task's order, then close. If process throws, everything the
/// try wrote to stores or forwarded is taken back and the record is tried again, a few
/// times, then dead-lettered (TopologyBuilder::dead_letters). Expected bad input is
/// better turned into values (a DLQ message with a precise reason) than thrown.
class Processor {
 public:
  virtual ~Processor() = default;
  virtual void init(ProcessorContext& context) = 0;
  virtual void process(const Record& record) = 0;
  virtual void close() {}
};

}  // namespace couponflow::topology
