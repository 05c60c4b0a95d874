#pragma once
// Where a task's output goes: sink records and changelog records. The runtime's
// implementation is the Kafka producer; the test driver's keeps records in memory.

#include <optional>
#include <string>

#include "common/record.h"
#include "common/types.h"

namespace couponflow::processor {

class RecordCollector {
 public:
  virtual ~RecordCollector() = default;
  /// Sends asynchronously. Without a partition, the key's murmur2 partition is used.
  /// Delivery failures surface at the next flush, never silently.
  virtual void send(const std::string& topic, std::optional<Partition> partition,
                    const Message& message) = 0;
  /// The offset of the last record acknowledged on `tp` by this collector, if any.
  virtual std::optional<Offset> last_acked_offset(const TopicPartition& tp) const = 0;
};

}  // namespace couponflow::processor
