#pragma once
// Configuration of a processor instance and its stream threads.

#include <cstdint>
#include <filesystem>
#include <string>

#include "processor/kafka/client_properties.h"
#include "state/cache_budget.h"

namespace couponflow::processor {

enum class Guarantee { kAtLeastOnce, kExactlyOnceV2 };

struct StreamsConfig {
  /// The consumer group, and the prefix of the changelog topics.
  std::string application_id = "coupon-processor";
  std::string bootstrap;
  /// Stores live under state_dir/<application_id>/<task>/<store>.
  std::filesystem::path state_dir = "/tmp/couponflow-state";
  /// Where task state changes and restores are reported for programs, a JSON object per
  /// line (processor/instance_events.h); empty: nowhere.
  std::filesystem::path events_file;
  /// Names the instance in logs and, when set, becomes group.instance.id (static
  /// membership: a quick restart keeps its partitions without a rebalance).
  std::string instance_id;
  Guarantee guarantee = Guarantee::kAtLeastOnce;

  /// num.stream.threads: stream threads per instance, each a member of the consumer
  /// group with its own clients and tasks (Kafka Streams' meaning); they share the
  /// state directory and the store cache budget.
  int num_stream_threads = 1;
  /// Every interval: flush the producer, commit input offsets, checkpoint the stores.
  int64_t commit_interval_ms = 100;
  /// One budget for the store caches of every task and standby of the instance; a store
  /// whose cache holds all of it answers every read from memory.
  size_t store_cache_bytes = state::kDefaultStoreCacheBytes;
  /// Kafka Streams' max.task.idle.ms (see TaskEnvironment::max_idle_ms): 0 waits for
  /// every record already in a co-partitioned log, so a coupon defined before a request
  /// applies to it; above 0 also waits that long for new ones; below 0 is best effort.
  int64_t max_task_idle_ms = 0;
  /// 0: no standby replicas. Above 0: this instance keeps a warm copy of the stores of
  /// every task it does not own (librdkafka's assignors cannot place a given number of
  /// replicas, so "some" means "all" here), so a failover restores only a tail.
  int num_standby_replicas = 0;
  /// How often the partition counts of the input topics are checked: a change stops
  /// the instance (see processor/partition_guard.h).
  int64_t partition_check_interval_ms = 5000;
  /// A record whose processing throws is tried this many times in all (backoff
  /// doubling from retry_backoff_ms), then dead-lettered.
  int processing_attempts = 3;
  int64_t retry_backoff_ms = 100;
  /// A partition is paused while this many of its records wait in its task.
  size_t max_buffered_records = 50'000;
  /// Cap on the series of one keyed gauge (e.g. remaining capacity per coupon).
  size_t metrics_max_keyed_series = 100;
  /// Per-record metrics: latency histograms and processed-record counts. Off only to
  /// measure what they cost (metrics.recording.level=off).
  bool metrics_per_record = true;

  /// librdkafka properties for every client; then per client kind (they win).
  kafka::ClientProperties client;
  kafka::ClientProperties consumer;
  kafka::ClientProperties producer;
};

}  // namespace couponflow::processor
