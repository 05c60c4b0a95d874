#pragma once
// The coupon job on a real Kafka-protocol broker, in-process: the embedded broker with
// the job's topics, processor instances on their own threads, a producer, and readers.

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/log.h"
#include "common/murmur2.h"
#include "ops/embedded_topics.h"
#include "ops/verify/verify.h"
#include "processor/kafka/embedded_broker.h"
#include "processor/kafka/kafka_consumer.h"
#include "processor/kafka/kafka_producer.h"
#include "processor/kafka/topic_reader.h"
#include "processor/stream_thread.h"
#include "tests/support/processor_instance.h"
#include "tests/support/temp_dir.h"
#include "topology/coupon/catalog.h"
#include "topology/coupon/coupon_topology.h"
#include "topology/coupon/request.h"
#include "topology/coupon/result.h"

namespace couponflow::testing {

/// Runs the enclosing test case once per processing guarantee (doctest subcases);
/// declares `guarantee`.
#define COUPONFLOW_EACH_GUARANTEE(guarantee)                                          \
  ::couponflow::processor::Guarantee guarantee = ::couponflow::processor::Guarantee::kAtLeastOnce; \
  SUBCASE("at_least_once") {}                                                         \
  SUBCASE("exactly_once_v2") { guarantee = ::couponflow::processor::Guarantee::kExactlyOnceV2; }

class EmbeddedCluster {
 public:
  explicit EmbeddedCluster(int partitions = 3, int brokers = 1)
      : broker_(brokers), partitions_(partitions), topology_(coupon::build_coupon_topology()) {
    ops::create_topology_topics(broker_, topology_, {"coupon-processor"}, partitions);
    producer_ = std::make_unique<kafka::KafkaProducer>(client());
  }

  kafka::ClientProperties client() const { return {{"bootstrap.servers", broker_.bootstrap()}}; }
  const std::string& bootstrap() const { return broker_.bootstrap(); }
  kafka::EmbeddedBroker& broker() { return broker_; }
  kafka::KafkaProducer& producer() { return *producer_; }
  const topology::Topology& topology() const { return topology_; }
  int partitions() const { return partitions_; }

  /// The processing guarantee of the instances started from now on.
  void set_guarantee(processor::Guarantee g) { guarantee_ = g; }
  processor::Guarantee guarantee() const { return guarantee_; }
  /// The same, as `process` flags (for instances run as child processes).
  std::vector<std::string> guarantee_flags() const {
    return {"--guarantee", guarantee_ == processor::Guarantee::kExactlyOnceV2 ? "exactly_once_v2" : "at_least_once"};
  }

  /// A processor config with the embedded broker's fast group settings.
  processor::StreamsConfig config(const std::filesystem::path& state_dir, const std::string& instance) const {
    processor::StreamsConfig c;
    c.guarantee = guarantee_;
    c.bootstrap = broker_.bootstrap();
    c.state_dir = state_dir;
    c.instance_id = instance;
    // The embedded broker's group coordinator rebalances in (session timeout - 1 s).
    c.consumer.set("session.timeout.ms", "3000").set("heartbeat.interval.ms", "500");
    return c;
  }
  std::unique_ptr<ProcessorInstance> start(const std::filesystem::path& state_dir, const std::string& instance,
                                           std::shared_ptr<prometheus::Registry> registry = nullptr) {
    return std::make_unique<ProcessorInstance>(topology_, config(state_dir, instance), std::move(registry));
  }

  void define(const std::string& coupon_id, int64_t capacity) {
    producer_->send("coupon-catalog", std::nullopt,
                    Message{coupon_id, coupon::catalog_json(coupon_id, {capacity, {}, {}}), now(), {}});
    producer_->flush(10'000);
  }
  void request(const std::string& request_id, const std::string& coupon_id, const std::string& user_id,
               std::optional<Partition> partition = std::nullopt, std::optional<std::string> key = std::nullopt) {
    const std::string value = coupon::request_json(request_id, coupon_id, user_id, now());
    producer_->send("coupon-issuance", partition, Message{key.value_or(coupon_id), value, now(), {}});
  }
  void flush() { producer_->flush(10'000); }

  /// Every result so far, by request identity (the last one seen per identity).
  std::vector<coupon::CouponResult> results() {
    std::vector<coupon::CouponResult> out;
    kafka::read_topics(client(), {"coupon-issued", "coupon-rejected"}, [&](kafka::ReadRecord&& r) {
      std::string error;
      auto parsed = coupon::parse_result(r.value.value_or(""), error);
      REQUIRE_MESSAGE(parsed.has_value(), error);
      out.push_back(*parsed);
    });
    return out;
  }
  std::vector<kafka::ReadRecord> dlq() {
    std::vector<kafka::ReadRecord> out;
    kafka::read_topics(client(), {"coupon-issuance-dlq"}, [&](kafka::ReadRecord&& r) { out.push_back(std::move(r)); });
    return out;
  }
  int64_t answered() {
    int64_t n = 0;
    kafka::read_topics(client(), {"coupon-issued", "coupon-rejected", "coupon-issuance-dlq"},
                       [&](kafka::ReadRecord&&) { ++n; });
    return n;
  }
  /// Request records answered so far (by a result or a DLQ entry), and request records
  /// in all: replayed duplicates count once.
  std::pair<int64_t, int64_t> answered_of_requests() {
    std::set<std::pair<int64_t, int64_t>> answered;
    int64_t requests = 0;
    kafka::read_topics(client(), {"coupon-issued", "coupon-rejected", "coupon-issuance-dlq"},
                       [&](kafka::ReadRecord&& r) {
                         if (r.topic == "coupon-issuance-dlq") {
                           answered.emplace(std::stoll(std::string(r.header("dlq.source.partition").value_or("-1"))),
                                            std::stoll(std::string(r.header("dlq.source.offset").value_or("-1"))));
                           return;
                         }
                         std::string error;
                         if (auto parsed = coupon::parse_result(r.value.value_or(""), error)) {
                           answered.emplace(parsed->partition, parsed->offset);
                         }
                       });
    kafka::KafkaConsumer reader(client(), "test-watermarks", nullptr);
    for (int p = 0; p < partitions_; ++p) {
      requests += reader.query_watermarks({"coupon-issuance", Partition{p}}, 5000).high.value;
    }
    return {static_cast<int64_t>(answered.size()), requests};
  }
  /// Waits until every request record has an answer.
  void wait_until_all_answered(std::chrono::seconds timeout = std::chrono::seconds(120)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto [answered, requests] = answered_of_requests();
      if (answered >= requests) return;
      REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline,
                      answered << " of " << requests << " requests answered after " << timeout.count() << " s");
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  /// Waits until at least `n` answers (results + DLQ entries) exist.
  void wait_for_answers(int64_t n, std::chrono::seconds timeout = std::chrono::seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int64_t have = 0;
    while ((have = answered()) < n) {
      REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline,
                      "only " << have << " of " << n << " answers after " << timeout.count() << " s");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  /// Waits until every partition has a RUNNING task on one of `instances`.
  static void wait_until_running(const std::vector<const ProcessorInstance*>& instances, int partitions,
                                 std::chrono::seconds timeout = std::chrono::seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int running = 0;
      for (const auto* i : instances) {
        REQUIRE_MESSAGE(!i->done(), "instance stopped: " << i->error());
        for (const auto& t : i->status().tasks) running += t.state == processor::TaskState::kRunning ? 1 : 0;
      }
      if (running == partitions) return;
      REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline, "only " << running << " tasks running");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ops::VerifyReport verify() { return ops::verify_topics(client(), coupon::CouponTopics{}); }

  /// Coupon ids "<prefix>N", `per_partition` of them on each of `partitions` partitions
  /// as murmur2 places them (in the order found), so every partition has work.
  static std::vector<std::string> coupons_spread(int partitions, int per_partition, const std::string& prefix) {
    std::vector<std::string> coupons;
    std::vector<int> placed(partitions, 0);
    for (int n = 0; static_cast<int>(coupons.size()) < partitions * per_partition; ++n) {
      std::string id = fmt::format("{}{}", prefix, n);
      if (placed[murmur2_partition(id, partitions).value]++ < per_partition) coupons.push_back(std::move(id));
    }
    return coupons;
  }

  static int64_t now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

 private:
  kafka::EmbeddedBroker broker_;
  processor::Guarantee guarantee_ = processor::Guarantee::kAtLeastOnce;
  int partitions_;
  topology::Topology topology_;
  std::unique_ptr<kafka::KafkaProducer> producer_;
};

}  // namespace couponflow::testing
