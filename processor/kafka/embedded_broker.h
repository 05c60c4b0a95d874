#pragma once
// The embedded Kafka-protocol broker: librdkafka's mock cluster, in memory, on loopback.
//
// It speaks the real wire protocol, so every client (ours, kcat, Java) connects to it.
// Known limits, designed around: each partition keeps at most ~5 MB / 100k message
// sets and silently drops the oldest beyond that (our clients detect it as offset out
// of range); no compaction; transactions write no markers; the admin API cannot create
// topics (we create them here, up front, so no client ever auto-creates one).

#include <memory>
#include <string>
#include <vector>

namespace couponflow::kafka {

class EmbeddedBroker {
 public:
  explicit EmbeddedBroker(int brokers = 1);
  ~EmbeddedBroker();
  EmbeddedBroker(const EmbeddedBroker&) = delete;
  EmbeddedBroker& operator=(const EmbeddedBroker&) = delete;

  /// Comma-separated host:port list of the brokers, on 127.0.0.1.
  const std::string& bootstrap() const { return bootstrap_; }
  void create_topic(const std::string& topic, int partitions, int replication_factor = 1);

  // --- fault injection (for tests, drills and `couponflow broker --control`) --------
  /// Takes broker `id` (1-based) down (its connections drop, it accepts none) or up.
  void set_broker_down(int id);
  void set_broker_up(int id);
  /// Delays every response of broker `id` by `rtt_ms`.
  void set_broker_rtt(int id, int rtt_ms);
  /// The next `errors.size()` requests of protocol API `api` (e.g. "Produce",
  /// "OffsetCommit", "EndTxn") fail with these errors, by name (e.g.
  /// "NOT_LEADER_FOR_PARTITION", "REQUEST_TIMED_OUT"; "_TRANSPORT" disconnects).
  /// Throws std::invalid_argument for an unknown API or error name.
  void push_request_errors(const std::string& api, const std::vector<std::string>& errors);
  int broker_count() const { return brokers_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string bootstrap_;
  int brokers_;
};

}  // namespace couponflow::kafka
