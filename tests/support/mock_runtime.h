#pragma once
// The coupon job's stream thread on scripted clients (processor/testing/mock_cluster.h):
// the test plays the broker and the group coordinator, and fires faults at exact calls.

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ops/verify/invariant_checker.h"
#include "ops/verify/verify.h"
#include "processor/testing/mock_cluster.h"
#include "state/store_spec.h"
#include "tests/support/processor_instance.h"
#include "tests/support/temp_dir.h"
#include "topology/coupon/catalog.h"
#include "topology/coupon/coupon_topology.h"
#include "topology/coupon/issued_state.h"
#include "topology/coupon/request.h"
#include "topology/coupon/result.h"

namespace couponflow::testing {

class MockRuntime {
 public:
  static constexpr const char* kGroup = "coupon-processor";

  explicit MockRuntime(int partitions = 2, processor::testing::MockCluster::Options options = {})
      : cluster_(options), topology_(coupon::build_coupon_topology()), partitions_(partitions) {
    for (const auto& topic : topology_.topics(kGroup)) cluster_.create_topic(topic, partitions);
  }

  processor::testing::MockCluster& cluster() { return cluster_; }
  const topology::Topology& topology() const { return topology_; }

  processor::StreamsConfig config(const std::filesystem::path& state_dir, processor::Guarantee guarantee) const {
    processor::StreamsConfig c;
    c.guarantee = guarantee;
    c.bootstrap = "mock";
    c.state_dir = state_dir;
    c.instance_id = "m1";
    return c;
  }
  std::unique_ptr<ProcessorInstance> start(const std::filesystem::path& state_dir,
                                           processor::Guarantee guarantee = processor::Guarantee::kAtLeastOnce) {
    return start(config(state_dir, guarantee));
  }
  std::unique_ptr<ProcessorInstance> start(processor::StreamsConfig config) {
    return std::make_unique<ProcessorInstance>(
        topology_, std::move(config), nullptr, std::make_shared<processor::testing::MockClientSupplier>(cluster_));
  }

  /// The group coordinator hands every input partition to the instance.
  void assign_all() { cluster_.assign(kGroup, cluster_.partitions("coupon-issuance")); }
  std::vector<TopicPartition> inputs() const { return cluster_.partitions("coupon-issuance"); }

  void define(const std::string& coupon_id, int64_t capacity, EpochMillis ts = 1000) {
    cluster_.append("coupon-catalog", std::nullopt, coupon_id, coupon::catalog_json(coupon_id, {capacity, {}, {}}), ts);
  }
  /// A holding in the issued store's changelog, as an earlier owner of the partition
  /// would have written it (issue number 1, requestId "r0").
  void append_holding(Partition changelog_partition, const std::string& coupon_id, const std::string& user_id,
                      EpochMillis ts = 1500) {
    std::string key, value;
    coupon::holding_key(key, coupon_id, user_id);
    coupon::encode_holding(value, 1, "r0");
    cluster_.append("coupon-processor-issued-changelog", changelog_partition, key, value, ts);
  }
  void request(const std::string& request_id, const std::string& coupon_id, const std::string& user_id,
               EpochMillis ts = 2000) {
    cluster_.append("coupon-issuance", std::nullopt, coupon_id,
                    coupon::request_json(request_id, coupon_id, user_id, std::nullopt), ts);
  }

  std::vector<coupon::CouponResult> results() {
    std::vector<coupon::CouponResult> out;
    for (const char* topic : {"coupon-issued", "coupon-rejected"}) {
      for (const auto& r : cluster_.records(topic)) {
        std::string error;
        auto parsed = coupon::parse_result(r.value.value_or(""), error);
        REQUIRE_MESSAGE(parsed.has_value(), error);
        out.push_back(*parsed);
      }
    }
    return out;
  }
  int64_t answered() {
    return static_cast<int64_t>(cluster_.records("coupon-issued").size() + cluster_.records("coupon-rejected").size() +
                                cluster_.records("coupon-issuance-dlq").size());
  }
  /// Waits until `n` answers exist (bounded; the clients are in-process, so this is fast).
  void wait_for_answers(int64_t n, const ProcessorInstance& instance,
                        std::chrono::seconds timeout = std::chrono::seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (answered() < n) {
      REQUIRE_MESSAGE(!instance.done(), "the instance stopped: " << instance.error());
      REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline, "only " << answered() << " of " << n << " answers");
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  /// Waits until `pred()` holds, bounded.
  template <typename Pred>
  static void wait_until(Pred pred, const std::string& what, std::chrono::seconds timeout = std::chrono::seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
      REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline, "timed out waiting until " << what);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  static int running_tasks(const ProcessorInstance& instance) {
    int n = 0;
    for (const auto& t : instance.status().tasks) n += t.state == processor::TaskState::kRunning ? 1 : 0;
    return n;
  }

  /// verify's checks over what the cluster holds.
  ops::VerifyReport verify() {
    ops::InvariantChecker checker("coupon-issuance", partitions_);
    auto read = [&](const std::string& topic, auto add) {
      for (int32_t p = 0; p < partitions_; ++p) {
        for (const auto& r : cluster_.records(TopicPartition{topic, Partition{p}})) {
          kafka::ReadRecord rr;
          rr.topic = topic;
          rr.partition = r.partition;
          rr.offset = r.offset;
          rr.timestamp = r.timestamp;
          rr.key = r.key;
          rr.value = r.value;
          rr.headers = r.headers;
          (checker.*add)(rr);
        }
      }
    };
    read("coupon-catalog", &ops::InvariantChecker::add_catalog);
    read("coupon-issuance", &ops::InvariantChecker::add_request);
    read("coupon-issued", &ops::InvariantChecker::add_result);
    read("coupon-rejected", &ops::InvariantChecker::add_result);
    read("coupon-issuance-dlq", &ops::InvariantChecker::add_dlq);
    read(state::changelog_topic(kGroup, coupon::issued_store_spec()), &ops::InvariantChecker::add_holding);
    return checker.check();
  }

 private:
  processor::testing::MockCluster cluster_;
  topology::Topology topology_;
  int partitions_;
};

}  // namespace couponflow::testing
