#pragma once
// The scripted clients of a MockCluster (see mock_cluster.h). Tests do not use them
// directly: the stream thread gets them from a MockClientSupplier.

#include <map>
#include <string>

#include "processor/clients.h"
#include "processor/testing/mock_cluster.h"

namespace couponflow::processor::testing {

/// Role: a consumer on a MockCluster: with a listener, the group member the test's
/// script assigns partitions to; without, a manual-assignment reader.
/// Thread: its owner's; the cluster's lock guards what the test thread also touches.
class MockConsumer final : public Consumer {
 public:
  MockConsumer(MockCluster& cluster, std::string group_id, RebalanceListener* listener);
  ~MockConsumer() override;

  void subscribe(const std::vector<std::string>& topics) override;
  size_t poll(std::vector<Record>& out, size_t max, int timeout_ms) override;
  uint64_t rebalance_count() const override { return rebalances_; }
  uint64_t last_batch_epoch() const override { return batch_epoch_; }
  void assign(const std::vector<std::pair<TopicPartition, std::optional<Offset>>>& partitions) override;
  void unassign(const std::vector<TopicPartition>& partitions) override;
  void pause(const std::vector<TopicPartition>& partitions) override;
  void resume(const std::vector<TopicPartition>& partitions) override;
  void seek(const std::vector<std::pair<TopicPartition, Offset>>& positions) override;
  void commit(const std::vector<std::pair<TopicPartition, Offset>>& offsets) override;
  void commit_async(const std::vector<std::pair<TopicPartition, Offset>>& offsets) override;
  std::vector<CommitResult> take_commit_results() override { return std::exchange(commit_results_, {}); }
  std::map<TopicPartition, Offset> committed(const std::vector<TopicPartition>& partitions, int timeout_ms) override;
  Watermarks query_watermarks(const TopicPartition& tp, int timeout_ms) override;
  std::map<TopicPartition, Watermarks> query_watermarks(const std::vector<TopicPartition>& partitions,
                                                        int timeout_ms) override;
  SourceProgress progress(const TopicPartition& tp, Offset next) override;
  std::optional<Offset> cached_high_watermark(const TopicPartition& tp) override;
  std::optional<Offset> position(const TopicPartition& tp) override;
  std::map<std::string, int32_t> topic_partitions(int timeout_ms) override;
  int wakeup_fd() const override { return wake_fd_; }
  void close(int timeout_ms = 10'000) override;

  const std::string& group() const { return group_; }

 private:
  struct Assigned {
    Offset position;
    bool paused = false;
    std::optional<Offset> seen_high;  // the end the last fetch since assignment saw
  };
  /// Serves one scripted rebalance event; false if none is due.
  bool serve_event();

  MockCluster& cluster_;
  std::string group_;
  RebalanceListener* listener_;
  std::map<TopicPartition, Assigned> assignment_;
  uint64_t rebalances_ = 0;
  uint64_t batch_epoch_ = 0;
  bool in_callback_ = false;
  bool assigned_in_callback_ = false;
  bool closed_ = false;
  int wake_fd_ = -1;
  std::vector<CommitResult> commit_results_;
};

/// Role: a producer on a MockCluster. Outside a transaction, records are acknowledged
/// (appended) by poll() and flush(); in one, they are appended when it commits and
/// dropped when it aborts. As with librdkafka, a transaction whose commit timed out is
/// still committing: it takes no more records or offsets until a commit or an abort
/// completes.
class MockProducer final : public Producer {
 public:
  MockProducer(MockCluster& cluster, bool transactional) : cluster_(cluster), transactional_(transactional) {}

  void send(const std::string& topic, std::optional<Partition> partition, const Message& message) override;
  std::optional<Offset> last_acked_offset(const TopicPartition& tp) const override;
  void flush(int timeout_ms) override;
  void poll() override;
  int64_t in_flight() const override;
  uint64_t delivery_errors() const override { return 0; }
  void warm_up(const std::vector<std::string>&) override {}
  void init_transactions(int timeout_ms) override;
  void begin_transaction() override;
  void send_offsets_to_transaction(const std::vector<std::pair<TopicPartition, Offset>>& offsets,
                                   Consumer& group_member, int timeout_ms) override;
  void commit_transaction(int timeout_ms) override;
  void abort_transaction(int timeout_ms) override;
  bool in_transaction() const override { return in_transaction_; }

 private:
  void deliver_queued();  // lock held
  /// Without transaction markers: delivers what the open transaction holds, but for
  /// held partitions. Lock held.
  void deliver_transactional();

  MockCluster& cluster_;
  bool transactional_;
  bool in_transaction_ = false;
  bool committing_ = false;  // a commit timed out: only committing again or aborting is allowed
  std::vector<std::pair<TopicPartition, LoggedRecord>> queued_;   // sent outside a transaction, not acked
  std::vector<std::pair<TopicPartition, LoggedRecord>> pending_;  // in the open transaction
  std::vector<std::pair<TopicPartition, Offset>> pending_offsets_;
  std::string pending_group_;
  std::map<TopicPartition, Offset> acked_;
};

/// Role: the Admin of a MockCluster (topic configurations set by the test).
class MockAdmin final : public Admin {
 public:
  explicit MockAdmin(MockCluster& cluster) : cluster_(cluster) {}
  bool supported() override;
  std::map<std::string, TopicDescription> describe_topics(const std::vector<std::string>& topics) override;
  std::vector<std::string> create_topics(const std::vector<NewTopic>& topics) override;
  /// The group's scripted member, if one subscribed ("Stable"), else "Empty" or "Dead".
  GroupDescription describe_group(const std::string& group) override;

 private:
  MockCluster& cluster_;
};

}  // namespace couponflow::processor::testing
