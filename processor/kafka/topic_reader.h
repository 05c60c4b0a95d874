#pragma once
// Reads whole topics, from the log start to the end as of the call, for tools (verify,
// demo, tests) rather than for processing.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/types.h"
#include "processor/kafka/client_properties.h"

namespace couponflow::kafka {

struct ReadRecord {
  std::string topic;
  Partition partition;
  Offset offset;
  int64_t timestamp = 0;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::string>> headers;

  /// The last header named `name`, if any.
  std::optional<std::string_view> header(std::string_view name) const {
    std::optional<std::string_view> found;
    for (const auto& [k, v] : headers) {
      if (k == name) found = v;
    }
    return found;
  }
};

struct TopicSnapshotInfo {
  std::string topic;
  Partition partition;
  Offset low;   // a log start above 0 means records were deleted
  Offset high;
};

/// Partition counts of every topic in the cluster (a metadata request that creates nothing).
std::map<std::string, int32_t> list_topics(const ClientProperties& props);

/// Calls `fn` for every record of `topics` (every partition, in offset order per
/// partition) up to each partition's end as of the call. Returns the watermarks it read
/// between. Throws FatalError if a topic is missing or a partition cannot be read.
std::vector<TopicSnapshotInfo> read_topics(const ClientProperties& props,
                                           const std::vector<std::string>& topics,
                                           const std::function<void(ReadRecord&&)>& fn);

}  // namespace couponflow::kafka
