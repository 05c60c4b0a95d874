#pragma once
// The Kafka clients the runtime uses, as interfaces (Kafka Streams' KafkaClientSupplier):
// the stream thread gets its consumers and producer from a ClientSupplier, so tests can
// hand it scripted clients that fire a rebalance, an abort, a timeout or an outage at an
// exact call, in-process and without broker timing (processor/testing/mock_*).
// The real ones wrap librdkafka (processor/kafka/); nothing here names librdkafka.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/record.h"
#include "common/types.h"
#include "processor/admin.h"
#include "processor/kafka/client_properties.h"
#include "processor/partition_group.h"
#include "processor/record_collector.h"

namespace couponflow::processor {

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

/// The outcome of one Consumer::commit_async.
struct CommitResult {
  std::vector<std::pair<TopicPartition, Offset>> offsets;
  std::string error;  // empty: the group stored them
};

struct Watermarks {
  Offset low;   // log start offset
  Offset high;  // log end offset (next offset to be written)
};

/// A consumer: either a consumer-group member (subscribe, rebalance callbacks, commits)
/// or a manual-assignment consumer (restores, co-partitioned tables, tools).
/// Thread: owned by one thread; poll() runs rebalance callbacks on it.
/// Errors: FatalError when going on is unsafe (configuration, a log truncated under an
/// unread position: never skipped); RetriableError for what may succeed if repeated
/// (timeouts, an unreachable broker, a commit refused during a rebalance).
class Consumer {
 public:
  virtual ~Consumer() = default;

  virtual void subscribe(const std::vector<std::string>& topics) = 0;
  /// Appends up to `max` records to `out`, waiting up to `timeout_ms` for the first.
  /// Serves rebalance callbacks. All records of one call were consumed under the same
  /// assignment: last_batch_epoch() says which (a rebalance_count() value). After
  /// seek(), no record fetched before it is returned. Returns the number appended.
  virtual size_t poll(std::vector<Record>& out, size_t max, int timeout_ms) = 0;
  /// Rebalance callbacks served so far.
  virtual uint64_t rebalance_count() const = 0;
  /// rebalance_count() at the time the last poll's records were consumed.
  virtual uint64_t last_batch_epoch() const = 0;

  /// Adds partitions to the assignment, each at its offset (nullopt: the log start).
  virtual void assign(const std::vector<std::pair<TopicPartition, std::optional<Offset>>>& partitions) = 0;
  virtual void unassign(const std::vector<TopicPartition>& partitions) = 0;
  virtual void pause(const std::vector<TopicPartition>& partitions) = 0;
  virtual void resume(const std::vector<TopicPartition>& partitions) = 0;
  /// Moves the fetch position of assigned partitions.
  virtual void seek(const std::vector<std::pair<TopicPartition, Offset>>& positions) = 0;

  /// Commits `offsets` (next offsets to read) for the group, synchronously.
  virtual void commit(const std::vector<std::pair<TopicPartition, Offset>>& offsets) = 0;
  /// The same without waiting: a group coordinator busy with a rebalance can hold a
  /// commit for seconds. Its outcome arrives with a later poll(): take_commit_results.
  virtual void commit_async(const std::vector<std::pair<TopicPartition, Offset>>& offsets) = 0;
  /// Outcomes of commit_async calls that arrived since the last call.
  virtual std::vector<CommitResult> take_commit_results() = 0;
  /// The group's committed offsets for `partitions` (absent: none committed).
  virtual std::map<TopicPartition, Offset> committed(const std::vector<TopicPartition>& partitions,
                                                     int timeout_ms) = 0;

  /// Asks the partition leader for its watermarks.
  virtual Watermarks query_watermarks(const TopicPartition& tp, int timeout_ms) = 0;
  /// The same for many partitions at once: a request or two per leader, not per
  /// partition (a stream thread assigned dozens of tasks asks for every changelog's).
  virtual std::map<TopicPartition, Watermarks> query_watermarks(const std::vector<TopicPartition>& partitions,
                                                                int timeout_ms) = 0;
  /// Whether a reader that has received everything before `next` is at the end of the
  /// log, judged from the last fetch response for tp since it was (re)assigned (no broker
  /// call): kUnknown until such a response has arrived.
  virtual SourceProgress progress(const TopicPartition& tp, Offset next) = 0;
  /// The high watermark of the last fetch response for tp since it was (re)assigned.
  virtual std::optional<Offset> cached_high_watermark(const TopicPartition& tp) = 0;
  /// The next offset this consumer will fetch for an assigned partition, once known.
  virtual std::optional<Offset> position(const TopicPartition& tp) = 0;
  /// Partition counts of every topic in the cluster (does not create topics).
  virtual std::map<std::string, int32_t> topic_partitions(int timeout_ms) = 0;

  /// A file descriptor that becomes readable when poll() has something to return;
  /// drained by poll(). Lets a thread wait on several consumers with ::poll.
  virtual int wakeup_fd() const = 0;

  /// Leaves the group (revoking through the listener) and closes the consumer.
  virtual void close(int timeout_ms = 10'000) = 0;
};

/// The producer: sink and changelog records, and (exactly-once) transactions.
/// Thread: one owner thread calls every method; delivery reports are served on it.
/// Errors: a failed delivery is reported by the next flush as FatalError (nothing is
/// dropped silently). Transactions: TransactionAbortedError when the transaction must be
/// aborted and its work redone, RetriableError for a timeout the same call may retry
/// (as librdkafka documents for commit and abort), FatalError when the producer cannot
/// go on (fenced by a newer one).
class Producer : public RecordCollector {
 public:
  /// Waits until every sent record is acknowledged. FatalError if a delivery failed
  /// since the last flush, RetriableError if `timeout_ms` passes first.
  virtual void flush(int timeout_ms) = 0;
  /// Serves delivery reports without blocking.
  virtual void poll() = 0;
  /// Records sent and not yet acknowledged.
  virtual int64_t in_flight() const = 0;
  /// Records whose delivery failed, ever.
  virtual uint64_t delivery_errors() const = 0;
  /// Fetches metadata for topics now, so the first send to each does not wait for it.
  virtual void warm_up(const std::vector<std::string>& topics) = 0;

  virtual void init_transactions(int timeout_ms) = 0;
  virtual void begin_transaction() = 0;
  /// Adds the group member's input offsets to the transaction.
  virtual void send_offsets_to_transaction(const std::vector<std::pair<TopicPartition, Offset>>& offsets,
                                           Consumer& group_member, int timeout_ms) = 0;
  virtual void commit_transaction(int timeout_ms) = 0;
  virtual void abort_transaction(int timeout_ms) = 0;
  virtual bool in_transaction() const = 0;
};

/// Creates the clients of a stream thread.
class ClientSupplier {
 public:
  virtual ~ClientSupplier() = default;
  /// With a listener: a member of consumer group `group_id`. Without: a manual-assignment
  /// consumer (group_id may still name the group whose offsets it reads).
  virtual std::unique_ptr<Consumer> consumer(const kafka::ClientProperties& properties, const std::string& group_id,
                                             RebalanceListener* listener) = 0;
  virtual std::unique_ptr<Producer> producer(const kafka::ClientProperties& properties) = 0;
  /// The cluster's Admin, to check the state topics at start; nullptr: none to check.
  virtual std::unique_ptr<Admin> admin(const kafka::ClientProperties& properties) = 0;
};

}  // namespace couponflow::processor
