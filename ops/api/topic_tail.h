#pragma once
// Following topics as they grow, without a consumer group: what the api reads (decisions,
// instance claims).

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/record.h"
#include "processor/clients.h"
#include "processor/kafka/client_properties.h"

namespace couponflow::ops {

/// Role: reads every partition of `topics` from a start position onward and hands each
/// record to `on_record`, on a thread of its own, until destroyed. The start of each
/// partition is `start(watermarks)` (clamped to the log), asked again whenever the
/// partition count grows. A log trimmed under the reader (retention, the embedded
/// broker's cap) is logged and read on from its new start: a tail is a cache, not a
/// record of truth. A broker outage stalls it; it goes on when the broker returns.
/// `ready()` turns true once every partition has been read to the end it had at start.
/// Thread: on_record runs on the tail's thread; ready() from any.
class TopicTail {
 public:
  using StartPosition = std::function<Offset(const processor::Watermarks&)>;
  TopicTail(const kafka::ClientProperties& client, std::vector<std::string> topics, StartPosition start,
            std::function<void(const Record&)> on_record, std::string what);
  ~TopicTail();
  TopicTail(const TopicTail&) = delete;
  TopicTail& operator=(const TopicTail&) = delete;

  bool ready() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace couponflow::ops
