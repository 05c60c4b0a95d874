#pragma once
// The runtime's RecordCollector: an idempotent librdkafka producer.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "processor/kafka/client_properties.h"
#include "processor/record_collector.h"

namespace couponflow::kafka {

/// Role: sends sink and changelog records; tracks, per partition, the offset of the
/// last acknowledged record (a changelogged store's position after a commit).
/// Thread: one owner thread calls every method; delivery reports are served on it
/// (in poll and flush), never on librdkafka's threads. send() alone may also be
/// called from other threads at the same time (load generators).
/// Errors: a failed delivery is remembered and reported by the next flush as a
/// FatalError: nothing is dropped silently. Client creation errors are FatalError.
class KafkaProducer final : public processor::RecordCollector {
 public:
  /// Defaults: idempotent, acks=all, linger 5 ms, murmur2_random partitioner (Java
  /// compatible); `overrides` win.
  explicit KafkaProducer(const ClientProperties& overrides);
  ~KafkaProducer() override;

  void send(const std::string& topic, std::optional<Partition> partition,
            const Message& message) override;
  std::optional<Offset> last_acked_offset(const TopicPartition& tp) const override;

  /// Waits until every sent record is acknowledged. Throws FatalError if any delivery
  /// failed since the last flush, or RetriableError if `timeout_ms` passes first.
  void flush(int timeout_ms);
  /// Serves delivery reports without blocking.
  void poll();
  /// Records sent and not yet acknowledged.
  int64_t in_flight() const;
  /// Records whose delivery failed, ever (records purged by an abort not included).
  uint64_t delivery_errors() const;
  /// Fetches metadata for topics now, so the first send to each does not wait for it.
  void warm_up(const std::vector<std::string>& topics);

  // --- transactions (exactly-once mode: a producer created with transactional.id) ----
  // Errors: TransactionAbortedError when the transaction must be aborted (then call
  // abort_transaction and redo the work), RetriableError for a timeout that may be
  // retried, FatalError when the producer cannot go on (e.g. fenced by a newer one).
  void init_transactions(int timeout_ms);
  void begin_transaction();
  /// Adds the consumer group's input offsets to the transaction.
  void send_offsets_to_transaction(const std::vector<std::pair<TopicPartition, Offset>>& offsets,
                                   const void* consumer_handle, int timeout_ms);
  void commit_transaction(int timeout_ms);
  void abort_transaction(int timeout_ms);
  bool in_transaction() const { return in_transaction_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  bool in_transaction_ = false;
};

}  // namespace couponflow::kafka
