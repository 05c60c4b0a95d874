#pragma once
// A producer that tells its caller when each record is acknowledged: the `api` answers a
// POST only once the broker holds the request.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/types.h"
#include "processor/kafka/client_properties.h"

namespace couponflow::kafka {

/// The outcome of one record.
struct Delivery {
  bool ok = false;
  std::string error;  // when !ok: librdkafka's reason (timed out, ...)
  Partition partition{0};
  Offset offset{0};
};

/// Role: an idempotent producer (acks=all, murmur2_random partitioner, linger 1 ms) whose
/// every record carries its own completion. A record not acknowledged within
/// `delivery_timeout_ms` (message.timeout.ms) fails instead of waiting for the broker
/// forever: its caller is told, and may retry with the same record (idempotent by the
/// request's identity, not by the producer's sequence numbers).
/// Back-pressure: at most `max_in_flight` records wait for the broker; send() refuses
/// more at once rather than queueing without bound.
/// Thread: send() from any thread; completions run on the producer's own polling thread
/// and must not block. Lifecycle: the destructor waits up to 5 s for records still in
/// flight (their completions run, failed if they did not make it).
class AcknowledgingProducer {
 public:
  AcknowledgingProducer(const ClientProperties& overrides, int delivery_timeout_ms, size_t max_in_flight);
  ~AcknowledgingProducer();
  AcknowledgingProducer(const AcknowledgingProducer&) = delete;
  AcknowledgingProducer& operator=(const AcknowledgingProducer&) = delete;

  /// Queues one record; `done` runs once when it is acknowledged or fails. Returns
  /// false without calling `done` when it cannot be queued (queue full, unknown topic):
  /// `error` says why.
  bool send(const std::string& topic, std::string_view key, std::string_view value, int64_t timestamp_ms,
            std::function<void(const Delivery&)> done, std::string& error);
  /// Records queued and not yet completed.
  int64_t in_flight() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace couponflow::kafka
