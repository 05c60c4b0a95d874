#pragma once
// An in-memory Kafka for tests, and scripted clients on it (Kafka Streams' MockConsumer
// and MockProducer): the stream thread runs against them in-process, and a test fires a
// rebalance, an abort, a timeout or an outage at an exact call instead of waiting for a
// broker to do it.
//
//   test ──script──> MockCluster <──calls── MockConsumer / MockProducer <── StreamThread
//                    (logs, group offsets,       (from MockClientSupplier)
//                     faults, membership)
//
// Faithful where the runtime depends on it: records are visible to read_committed
// readers only once their transaction commits; a consumer knows nothing of a
// partition's end until a fetch since its assignment; a rebalance callback is served by
// the member's poll(), and the records of one poll belong to one assignment. Simplified
// elsewhere: one member per group (the test plays the coordinator), fetches return
// whatever is visible at once, deliveries are acknowledged when flushed or polled.

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "processor/clients.h"

namespace couponflow::processor::testing {

class MockConsumer;

/// A record stored in an in-memory topic.
struct LoggedRecord {
  std::optional<std::string> key;
  std::optional<std::string> value;
  EpochMillis timestamp = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  Partition partition;
  Offset offset;
  bool control = false;  // a transaction marker: takes an offset, is never delivered

  std::optional<std::string_view> header(std::string_view name) const;
};

/// What reading `tp` at `position` below its log start does: a FatalError worded as the
/// runtime's consumer words it, since the records were deleted before being read.
[[noreturn]] void throw_out_of_range(const TopicPartition& tp, Offset position, int64_t log_start);

/// The client calls a fault can be injected into.
enum class MockCall {
  kPoll,
  kCommit,
  kCommitted,
  kQueryWatermarks,
  kSeek,
  kTopicPartitions,
  kFlush,
  kInitTransactions,
  kBeginTransaction,
  kSendOffsets,
  kCommitTransaction,
  kAbortTransaction,
};
inline constexpr size_t kMockCalls = 12;

/// What an injected fault makes the call do.
enum class MockFault {
  kTimeout,              // RetriableError, as a call that timed out (the operation did not happen)
  kRebalanceInProgress,  // RetriableError: the group refuses commits while it rebalances
  kAbortable,            // TransactionAbortedError: the transaction can only be aborted
  kFatal,                // FatalError
};

class MockCluster {
 public:
  struct Options {
    /// False: offsets sent with a transaction are accepted and dropped, as the embedded
    /// broker does (librdkafka's mock cluster).
    bool transactions_store_offsets = true;
    /// False: transactions leave no markers, as on the embedded broker: a transactional
    /// record is visible once delivered (by a producer poll, or the flush that starts a
    /// commit), aborted or not; an abort only drops what was not delivered yet.
    bool transaction_markers = true;
    /// False: the Admin API is missing, as on the embedded broker.
    bool admin_api = true;
  };
  MockCluster();
  explicit MockCluster(Options options);
  ~MockCluster();
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  void create_topic(const std::string& topic, int32_t partitions);
  /// A topic configuration entry its Admin reports (e.g. cleanup.policy).
  void set_topic_config(const std::string& topic, const std::string& key, const std::string& value);
  int32_t partition_count(const std::string& topic) const;
  /// Appends a record as another producer would, visible at once (in the key's murmur2
  /// partition unless `partition` is given). Returns its offset.
  Offset append(const std::string& topic, std::optional<Partition> partition, std::optional<std::string> key,
                std::optional<std::string> value, EpochMillis timestamp, std::span<const Header> headers = {});
  /// Calls `fn` for each record of `tp` from `from` on (markers left out), in offset
  /// order; returns the offset after the last. `from` below the log start throws. The
  /// references stay valid until delete_records removes their records (appends never
  /// move them). Single-threaded use (the test driver).
  Offset for_each_record(const TopicPartition& tp, Offset from, const std::function<void(const LoggedRecord&)>& fn);
  /// Deletes the records of `tp` before `before` (Kafka's DeleteRecords, or retention):
  /// the log start offset moves up to it; offsets are never reused. A reader positioned
  /// below the log start then fails as the runtime's consumer does
  /// (auto.offset.reset=error): throw_out_of_range.
  void delete_records(const TopicPartition& tp, Offset before);
  /// Appends a transaction marker: an offset no reader receives a record for.
  void append_transaction_marker(const TopicPartition& tp);
  /// Commits `offset` for `group` as a previous member would have.
  void set_committed(const std::string& group, const TopicPartition& tp, Offset offset);
  /// The record at `offset` of `tp` (std::out_of_range if it is not in the log).
  LoggedRecord record_at(const TopicPartition& tp, Offset offset) const;
  /// The committed records of a partition still in its log, in offset order (markers
  /// left out).
  std::vector<LoggedRecord> records(const TopicPartition& tp) const;
  /// Every committed record of every partition of `topic`.
  std::vector<LoggedRecord> records(const std::string& topic) const;
  Watermarks watermarks(const TopicPartition& tp) const;
  std::map<TopicPartition, Offset> committed(const std::string& group) const;

  // --- faults ------------------------------------------------------------------------
  /// The next `times` calls of `call` (by any client) fail with `fault`.
  void inject(MockCall call, MockFault fault, int times = 1);
  /// While down, every broker call fails as a timeout, polls return nothing, and
  /// deliveries wait.
  void set_down(bool down);
  /// While held, fetches of `tp` return nothing and tell nothing of its end (a slow
  /// fetch, e.g. a side consumer busy elsewhere).
  void hold_fetches(const TopicPartition& tp, bool held);
  /// While set, every fetch of `tp` first appends a copy of this record, as a producer
  /// writing without pause would: its reader is never idle.
  void keep_busy(const TopicPartition& tp, std::optional<LoggedRecord> record);
  /// While held, a producer delivers nothing to `tp` (a slow partition leader): its
  /// records wait in the producer, and an abort drops them.
  void hold_deliveries(const TopicPartition& tp, bool held);
  /// How many times `call` was made so far, faulted or not.
  int calls(MockCall call) const;

  // --- the group coordinator, scripted ------------------------------------------------
  /// The member of `group` (a consumer with a rebalance listener that subscribed) is
  /// assigned / revoked / loses these partitions at its next poll, in script order.
  void assign(const std::string& group, const std::vector<TopicPartition>& partitions);
  void revoke(const std::string& group, const std::vector<TopicPartition>& partitions);
  void lose(const std::string& group, const std::vector<TopicPartition>& partitions);
  /// Every partition of `topic`, for assign().
  std::vector<TopicPartition> partitions(const std::string& topic) const;
  /// The group starts rebalancing: its member's commits are refused (as the embedded
  /// broker refuses them while members join and sync) until the member serves its next
  /// scripted event, which completes the rebalance just before the callback runs.
  void begin_rebalance(const std::string& group);
  /// True once the member has served every scripted event.
  bool events_served(const std::string& group) const;

 private:
  friend class MockConsumer;
  friend class MockProducer;
  friend class MockAdmin;
  struct Partition_ {
    std::deque<LoggedRecord> records;  // offsets log_start, log_start + 1, ...
    int64_t log_start = 0;

    int64_t end() const { return log_start + static_cast<int64_t>(records.size()); }
    /// The record at `offset`, which must be in [log_start, end()).
    const LoggedRecord& at(int64_t offset) const { return records[static_cast<size_t>(offset - log_start)]; }
    Watermarks watermarks() const { return {Offset{log_start}, Offset{end()}}; }
  };
  struct Event {
    enum class Kind { kAssign, kRevoke, kLose };
    Kind kind = Kind::kAssign;
    std::vector<TopicPartition> partitions;
  };
  struct Member {
    MockConsumer* consumer = nullptr;  // the subscribed member, once there is one
    std::deque<Event> events;
    bool rebalancing = false;
  };

  /// Throws the next fault injected into `call`, or a timeout while down. Lock held.
  void check(MockCall call, bool broker_call = true);
  Partition_& partition_(const TopicPartition& tp);
  const Partition_& partition_(const TopicPartition& tp) const;
  Offset append_locked(const TopicPartition& tp, LoggedRecord record);
  void wake_all();
  void schedule(const std::string& group, int kind, const std::vector<TopicPartition>& partitions);

  Options options_;
  mutable std::mutex mutex_;
  std::map<std::string, std::vector<std::unique_ptr<Partition_>>> topics_;
  std::map<std::string, std::map<std::string, std::string>> topic_configs_;
  std::map<std::string, std::map<TopicPartition, Offset>> committed_;
  std::map<MockCall, std::deque<MockFault>> faults_;
  std::array<int, kMockCalls> calls_{};
  bool down_ = false;
  std::set<TopicPartition> held_;
  std::map<TopicPartition, LoggedRecord> busy_;
  std::set<TopicPartition> held_deliveries_;
  std::map<std::string, std::unique_ptr<Member>> members_;
  // Each consumer's eventfd, and whether a wake-up is already pending on it: an
  // append writes only to consumers not yet woken, so that a burst of appends costs one
  // write(2) per consumer instead of one per record (cleared by the consumer's poll).
  std::map<int, bool> wake_fds_;
};

/// Hands the stream thread clients of one MockCluster.
class MockClientSupplier final : public ClientSupplier {
 public:
  explicit MockClientSupplier(MockCluster& cluster) : cluster_(cluster) {}
  std::unique_ptr<Consumer> consumer(const kafka::ClientProperties& properties, const std::string& group_id,
                                     RebalanceListener* listener) override;
  std::unique_ptr<Producer> producer(const kafka::ClientProperties& properties) override;
  std::unique_ptr<Admin> admin(const kafka::ClientProperties& properties) override;

 private:
  MockCluster& cluster_;
};

}  // namespace couponflow::processor::testing
