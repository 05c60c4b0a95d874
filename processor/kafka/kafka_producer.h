#pragma once
// The runtime's RecordCollector: an idempotent librdkafka producer.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "processor/kafka/client_properties.h"
#include "processor/clients.h"

namespace couponflow::kafka {

/// Role: sends sink and changelog records (processor::Producer; see there for the
/// contract); tracks, per partition, the offset of the last acknowledged record (a
/// changelogged store's position after a commit).
/// Thread: one owner thread calls every method; delivery reports are served on it
/// (in poll and flush), never on librdkafka's threads. send() alone may also be
/// called from other threads at the same time (load generators).
/// Errors: a failed delivery is remembered and reported by the next flush as a
/// FatalError: nothing is dropped silently. Client creation errors are FatalError.
class KafkaProducer final : public processor::Producer {
 public:
  /// Defaults: idempotent, acks=all, linger 5 ms, murmur2_random partitioner (Java
  /// compatible); `overrides` win. `on_statistics`, if set, receives the client's
  /// statistics (statistics.interval.ms), served by poll() like delivery reports.
  explicit KafkaProducer(const ClientProperties& overrides, StatisticsCallback on_statistics = {});
  ~KafkaProducer() override;

  void send(const std::string& topic, std::optional<Partition> partition,
            const Message& message) override;
  std::optional<Offset> last_acked_offset(const TopicPartition& tp) const override;

  void flush(int timeout_ms) override;
  void poll() override;
  int64_t in_flight() const override;
  /// Records whose delivery failed, ever (records purged by an abort not included).
  uint64_t delivery_errors() const override;
  void warm_up(const std::vector<std::string>& topics) override;

  // --- transactions (exactly-once mode: a producer created with transactional.id) ----
  void init_transactions(int timeout_ms) override;
  void begin_transaction() override;
  /// `group_member` must be a KafkaConsumer (its group metadata goes along).
  void send_offsets_to_transaction(const std::vector<std::pair<TopicPartition, Offset>>& offsets,
                                   processor::Consumer& group_member, int timeout_ms) override;
  void commit_transaction(int timeout_ms) override;
  void abort_transaction(int timeout_ms) override;
  bool in_transaction() const override { return in_transaction_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  bool in_transaction_ = false;
};

}  // namespace couponflow::kafka
