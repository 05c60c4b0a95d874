#pragma once
// Where the api sends an interactive query: the processor instances' claims, read from
// the instances topic.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ops/api/instance_claim.h"
#include "processor/kafka/client_properties.h"

namespace couponflow::ops {

/// The instances to ask about one partition.
struct QueryRoute {
  std::vector<std::string> running;  // addresses claiming it running, most recent claim first
  bool restoring = false;            // some instance claims it restoring
};

/// Role: keeps the latest claim of every instance (TopicTail on the instances topic,
/// from its start) and answers where a partition runs. Claims are hints: the instance
/// asked checks ownership itself and answers 421 if it no longer runs the partition.
/// Thread: route()/instances() from any thread; the tail updates on its own.
class InstanceDirectory {
 public:
  InstanceDirectory(const kafka::ClientProperties& client, const std::string& topic);
  /// A directory fed by apply() alone (tests, tools that read the topic themselves).
  InstanceDirectory();
  ~InstanceDirectory();

  QueryRoute route(int32_t partition) const;
  std::vector<InstanceClaim> instances() const;
  /// The topic has been read to the end it had at start.
  bool ready() const;

  /// Applies one record of the instances topic (the tail calls it; public for tests).
  void apply(std::string_view key, std::optional<std::string_view> value);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace couponflow::ops
