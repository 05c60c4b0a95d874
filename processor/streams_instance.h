#pragma once
// One processor instance: num.stream.threads stream threads (Kafka Streams' KafkaStreams).

#include <atomic>
#include <memory>
#include <vector>

#include "processor/instance_context.h"
#include "processor/stream_thread.h"

namespace couponflow::processor {

/// Role: runs the instance's stream threads, each a member of the consumer group with
/// its own clients and tasks, over one shared InstanceContext; reports them as one.
/// A thread that fails stops the others (gracefully) and the failure is run()'s: an
/// instance is either whole or gone, and its orchestrator restarts it.
/// Thread: run() on one thread (with one stream thread it runs it itself; with more,
/// each runs on a thread of its own while run() relays the stop request); status()
/// and last_step_ms() from any.
class InstanceEvents;

class StreamsInstance {
 public:
  /// `clients` (tests) serves every thread; by default each thread has librdkafka's.
  StreamsInstance(const topology::Topology& topology, StreamsConfig config,
                  std::shared_ptr<prometheus::Registry> registry = nullptr,
                  std::shared_ptr<ClientSupplier> clients = nullptr);
  ~StreamsInstance();

  /// Runs until `stop` is set or a thread fails, then stops every thread. Errors:
  /// rethrows the first thread's failure.
  void run(const std::atomic<bool>& stop);
  /// The threads' statuses merged: ready when every thread is.
  ThreadStatus status() const;
  /// status().partition_count without merging the statuses: 0 until a thread knows it.
  int32_t partition_count() const;
  /// The stalest thread's heartbeat (0 before run).
  EpochMillis last_step_ms() const;
  size_t thread_count() const { return threads_.size(); }
  /// Where the instance reports events for programs (StreamsConfig::events_file); null
  /// when it has none.
  InstanceEvents* events() const;
  /// Runs `query` against the stores of the partition's task on the thread that runs
  /// it (interactive queries; see QueryMailbox). kNotOwner when no thread of this
  /// instance has the partition as an active task. Blocks up to `timeout_ms`.
  /// Thread: any.
  QueryOutcome query(Partition partition, const StoreQuery& query, int timeout_ms) const;

 private:
  std::shared_ptr<InstanceContext> context_;
  std::vector<std::unique_ptr<StreamThread>> threads_;
};

}  // namespace couponflow::processor
