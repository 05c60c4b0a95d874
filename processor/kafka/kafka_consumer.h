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
#include "processor/partition_group.h"

namespace couponflow::kafka {

/// Called on the consumer's thread, from inside poll(), when the group changes this
/// member's assignment (cooperative protocol: only the partitions that move).
class RebalanceListener {
 public:
  virtual ~RebalanceListener() = default;
  virtual void on_assigned(const std::vector<TopicPartition>& partitions) = 0;
  /// The partitions are still ours until this returns: commit what was processed.
  virtual void on_revoked(const std::vector<TopicPartition>& partitions) = 0;
  /// The partitions may already belong to someone else: do not commit.
  virtual void on_lost(const std::vector<TopicPartition>& partitions) = 0;
};

struct Watermarks {
  Offset low;   // log start offset
  Offset high;  // log end offset (next offset to be written)
};

/// Role: wraps one librdkafka consumer.
/// Thread: owned by one thread; poll() runs rebalance callbacks on it.
/// Errors: configuration and fatal client errors throw FatalError; an offset that is
/// out of range (data deleted under us) throws FatalError from poll(), never skips.
/// Broker timeouts throw RetriableError.
class KafkaConsumer {
 public:
  /// With a non-empty group_id and a listener: a group member; the group-membership
  /// defaults are cooperative-sticky, manual commits, no auto-created topics.
  /// Without: a manual-assignment consumer (group_id may still name the group whose
  /// offsets it reads).
  KafkaConsumer(const ClientProperties& overrides, const std::string& group_id,
                RebalanceListener* listener);
  ~KafkaConsumer();
  KafkaConsumer(const KafkaConsumer&) = delete;
  KafkaConsumer& operator=(const KafkaConsumer&) = delete;

  void subscribe(const std::vector<std::string>& topics);

  /// Appends up to `max` records to `out`, waiting up to `timeout_ms` for the first.
  /// Serves rebalance callbacks. All records of one call were consumed under the
  /// same assignment: last_batch_epoch() says which (a rebalance_count() value).
  /// Returns the number appended.
  size_t poll(std::vector<Record>& out, size_t max, int timeout_ms);
  /// Rebalance callbacks served so far.
  uint64_t rebalance_count() const;
  /// rebalance_count() at the time the last poll's records were consumed.
  uint64_t last_batch_epoch() const;

  /// Adds partitions to the assignment, each at its offset (nullopt: the log start).
  void assign(const std::vector<std::pair<TopicPartition, std::optional<Offset>>>& partitions);
  void unassign(const std::vector<TopicPartition>& partitions);
  void pause(const std::vector<TopicPartition>& partitions);
  void resume(const std::vector<TopicPartition>& partitions);

  /// Commits `offsets` (next offsets to read) for the group, synchronously.
  void commit(const std::vector<std::pair<TopicPartition, Offset>>& offsets);
  /// The group's committed offsets for `partitions` (absent: none committed).
  std::map<TopicPartition, Offset> committed(const std::vector<TopicPartition>& partitions,
                                             int timeout_ms);

  /// Asks the partition leader for its watermarks.
  Watermarks query_watermarks(const TopicPartition& tp, int timeout_ms);
  /// Whether a reader that has received everything before `next` is at the end of the
  /// log, judged from the watermark of the last fetch response (no broker call).
  processor::SourceProgress progress(const TopicPartition& tp, Offset next);
  /// The high watermark of the last fetch response for tp (no broker call).
  std::optional<Offset> cached_high_watermark(const TopicPartition& tp);


  /// The next offset this consumer will fetch for an assigned partition, once known.
  std::optional<Offset> position(const TopicPartition& tp);

  /// Partition counts of every topic in the cluster (does not create topics).
  std::map<std::string, int32_t> topic_partitions(int timeout_ms);

  /// A file descriptor that becomes readable when poll() has something to return;
  /// drained by poll(). Lets a thread wait on several consumers with ::poll.
  int wakeup_fd() const;

  /// Moves the fetch position of assigned partitions (fetched records of the old
  /// position are discarded by librdkafka).
  void seek(const std::vector<std::pair<TopicPartition, Offset>>& positions);

  /// The librdkafka handle, for KafkaProducer's transactional offset commits only.
  void* native_handle() const;

  /// Leaves the group (revoking through the listener) and closes the consumer.
  /// librdkafka 2.0 can hang in close if an assignment arrives meanwhile
  /// (librdkafka#4527), so a group member first unsubscribes and polls until its
  /// assignment is empty (at most `timeout_ms`), dropping records that still arrive.
  void close(int timeout_ms = 10'000);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// A header of a record returned by KafkaConsumer::poll (and only such a record), or
/// nullopt. The view lives as long as the record.
std::optional<std::string_view> message_header(const Record& record, std::string_view name);

}  // namespace couponflow::kafka
