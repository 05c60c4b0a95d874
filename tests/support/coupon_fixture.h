#pragma once
// The coupon topology in the in-process test driver, with helpers that speak the
// contract's language (define a coupon, send a request, read its result).

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "processor/testing/topology_test_driver.h"
#include "tests/support/temp_dir.h"
#include "topology/coupon/catalog.h"
#include "topology/coupon/coupon_topology.h"
#include "topology/coupon/request.h"
#include "topology/coupon/result.h"

namespace couponflow::testing {

class CouponFixture {
 public:
  /// `purge_committed_requests`: the driver deletes requests once committed, as the
  /// benchmark's does (TopologyTestDriver::Options::purge_committed_topics).
  explicit CouponFixture(int32_t partitions = 1, coupon::CouponOptions options = {},
                         bool purge_committed_requests = false)
      : options_(std::move(options)),
        topology_(coupon::build_coupon_topology(options_)),
        driver_(topology_, make_options(partitions, purge_committed_requests)) {}

  processor::testing::TopologyTestDriver& driver() { return driver_; }
  const coupon::CouponTopics& topics() const { return options_.topics; }

  void define(const std::string& coupon_id, int64_t capacity, std::optional<int64_t> opens_at = {},
              std::optional<int64_t> closes_at = {}, EpochMillis ts = 1000) {
    driver_.pipe(topics().catalog, coupon_id,
                 coupon::catalog_json(coupon_id, {capacity, opens_at, closes_at}), ts);
  }
  void undefine(const std::string& coupon_id, EpochMillis ts = 1000) {
    driver_.pipe(topics().catalog, coupon_id, std::nullopt, ts);
  }

  /// Sends one request and returns the one result it produced (fails the test if it
  /// produced anything else).
  coupon::CouponResult request(const std::string& request_id, const std::string& coupon_id,
                               const std::string& user_id, EpochMillis ts = 2000) {
    driver_.pipe(topics().issuance, coupon_id,
                 coupon::request_json(request_id, coupon_id, user_id, ts - 1), ts);
    auto results = read_results();
    REQUIRE(results.size() == 1);
    REQUIRE(driver_.read_output(topics().dlq).empty());
    return results.front();
  }

  /// Results emitted since the last read, accepted and rejected, in offset order.
  std::vector<coupon::CouponResult> read_results() {
    std::vector<coupon::CouponResult> out;
    for (const auto* topic : {&topics().issued, &topics().rejected}) {
      for (const auto& r : driver_.read_output(*topic)) {
        std::string error;
        auto parsed = coupon::parse_result(r.value.value_or(""), error);
        REQUIRE_MESSAGE(parsed.has_value(), error);
        out.push_back(*parsed);
      }
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
      return std::pair(a.partition, a.offset) < std::pair(b.partition, b.offset);
    });
    return out;
  }

  int64_t issued_count(const std::string& coupon_id, Partition p = Partition{0}) {
    auto view = driver_.store(p, "issued").snapshot("counts");
    auto it = view.find(coupon_id);
    if (it == view.end()) return 0;
    int64_t n = 0;
    std::memcpy(&n, it->second.data(), sizeof n);
    return n;
  }

 private:
  processor::testing::TopologyTestDriver::Options make_options(int32_t partitions, bool purge_committed_requests) {
    processor::testing::TopologyTestDriver::Options o;
    o.state_dir = dir_.path();
    o.partitions = partitions;
    if (purge_committed_requests) o.purge_committed_topics = {options_.topics.issuance};
    return o;
  }

  TempDir dir_;
  coupon::CouponOptions options_;
  topology::Topology topology_;
  processor::testing::TopologyTestDriver driver_;
};

}  // namespace couponflow::testing
