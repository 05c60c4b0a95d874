#pragma once
// A librdkafka consumer behind a narrow interface: either a consumer-group member
// (subscribe, rebalance callbacks, commits) or a manual-assignment consumer (restore,
// co-partitioned tables, tools).

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/record.h"
#include "common/types.h"
#include "processor/kafka/client_properties.h"
#include "processor/clients.h"
#include "processor/partition_group.h"

namespace couponflow::kafka {

using processor::RebalanceListener;
using processor::Watermarks;

/// Role: wraps one librdkafka consumer (processor::Consumer; see there for the contract).
/// Thread: owned by one thread; poll() runs rebalance callbacks on it.
/// Errors: configuration and fatal client errors throw FatalError; an offset that is
/// out of range (data deleted under us) throws FatalError from poll(), never skips.
/// Broker timeouts throw RetriableError.
class KafkaConsumer final : public processor::Consumer {
 public:
  /// With a non-empty group_id and a listener: a group member; the group-membership
  /// defaults are cooperative-sticky, manual commits, no auto-created topics.
  /// Without: a manual-assignment consumer (group_id may still name the group whose
  /// offsets it reads).
  /// `on_statistics`, if set, receives the client's statistics (statistics.interval.ms).
  KafkaConsumer(const ClientProperties& overrides, const std::string& group_id,
                RebalanceListener* listener, StatisticsCallback on_statistics = {});
  ~KafkaConsumer() override;
  KafkaConsumer(const KafkaConsumer&) = delete;
  KafkaConsumer& operator=(const KafkaConsumer&) = delete;

  void subscribe(const std::vector<std::string>& topics) override;
  /// A rebalance callback ends the call (the callback yields), so no record fetched
  /// under the new assignment is ever consumed, or held over, by the same call.
  size_t poll(std::vector<Record>& out, size_t max, int timeout_ms) override;
  uint64_t rebalance_count() const override;
  uint64_t last_batch_epoch() const override;

  void assign(const std::vector<std::pair<TopicPartition, std::optional<Offset>>>& partitions) override;
  void unassign(const std::vector<TopicPartition>& partitions) override;
  void pause(const std::vector<TopicPartition>& partitions) override;
  void resume(const std::vector<TopicPartition>& partitions) override;
  /// Fetched records of the old position are discarded by librdkafka.
  void seek(const std::vector<std::pair<TopicPartition, Offset>>& positions) override;

  void commit(const std::vector<std::pair<TopicPartition, Offset>>& offsets) override;
  void commit_async(const std::vector<std::pair<TopicPartition, Offset>>& offsets) override;
  std::vector<processor::CommitResult> take_commit_results() override;
  std::map<TopicPartition, Offset> committed(const std::vector<TopicPartition>& partitions,
                                             int timeout_ms) override;

  Watermarks query_watermarks(const TopicPartition& tp, int timeout_ms) override;
  /// Two ListOffsets rounds (log start, log end) for all of them. Errors: RetriableError.
  std::map<TopicPartition, Watermarks> query_watermarks(const std::vector<TopicPartition>& partitions,
                                                        int timeout_ms) override;
  /// The first offset of each partition whose record timestamp is at or after
  /// `timestamp_ms` (ListOffsets by time); unset where the broker knows none (past
  /// the last record, or a broker that cannot look up times: the embedded one).
  /// Errors: RetriableError if the broker does not answer in time.
  std::map<TopicPartition, std::optional<Offset>> offsets_for_times(const std::vector<TopicPartition>& partitions,
                                                                    int64_t timestamp_ms, int timeout_ms);
  /// librdkafka caches the high watermark of each partition's last fetch response and
  /// keeps it across reassignments; it is trusted only once a record or an end-of-
  /// partition event for tp has arrived since tp was assigned.
  processor::SourceProgress progress(const TopicPartition& tp, Offset next) override;
  std::optional<Offset> cached_high_watermark(const TopicPartition& tp) override;
  std::optional<Offset> position(const TopicPartition& tp) override;
  std::map<std::string, int32_t> topic_partitions(int timeout_ms) override;
  int wakeup_fd() const override;

  /// The librdkafka handle, for KafkaProducer's transactional offset commits only.
  void* native_handle() const;

  /// librdkafka 2.0 can hang in close if an assignment arrives meanwhile
  /// (librdkafka#4527), so a group member first unsubscribes and polls until its
  /// assignment is empty (at most `timeout_ms`), dropping records that still arrive.
  void close(int timeout_ms = 10'000) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// A header of a record returned by KafkaConsumer::poll (and only such a record), or
/// nullopt. The view lives as long as the record.
std::optional<std::string_view> message_header(const Record& record, std::string_view name);

}  // namespace couponflow::kafka
