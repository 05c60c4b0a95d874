#pragma once
// Coupon workloads for the demo, the drills and loadgen: a catalog spread evenly over
// partitions, and planned request records (with client resends and, optionally,
// records that cannot be judged), sent at a rate or as a burst.

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "processor/kafka/client_properties.h"
#include "processor/kafka/kafka_producer.h"
#include "topology/coupon/catalog.h"

namespace couponflow::ops {

struct CatalogEntry {
  std::string id;
  coupon::CouponDefinition definition;
};

/// `per_partition` coupons for each of `partitions` partitions, named
/// "<prefix>-NNN", picked by their murmur2 partition so that load spreads evenly (a
/// hot spot is what outgrows the embedded broker's ~5 MB per partition). Capacities
/// cycle through `capacities`.
std::vector<CatalogEntry> balanced_catalog(int partitions, int per_partition, const std::string& prefix,
                                           const std::vector<int64_t>& capacities);
void publish_catalog(kafka::KafkaProducer& producer, const std::string& topic,
                     const std::vector<CatalogEntry>& coupons);
/// The coupons the catalog topic defines now (latest valid definition per key).
std::vector<CatalogEntry> read_catalog(const kafka::ClientProperties& client, const std::string& topic);

struct PlannedRecord {
  std::optional<std::string> key;
  std::string value;
  int64_t request_index;  // the N of requestId "<prefix>N"; -1: undecidable on purpose
};

struct RequestMix {
  std::string id_prefix = "d-";
  int64_t users = 40'000;
  double hot_share = 0.06;       // of requests for coupons[0]
  double resend_share = 0.02;    // client retries: the same request again
  bool undecidable = false;      // add 24 records that go to the DLQ
  uint64_t seed = 7;
};

/// Requests with indices [first, first + count), in sending order.
std::vector<PlannedRecord> plan_requests(const std::vector<CatalogEntry>& coupons, int64_t first, int64_t count,
                                         const RequestMix& mix);

/// Sends records to `topic` at `rate` per second (0: as fast as the producer goes),
/// calling `on_send(index)` just before each request is sent; stops early if `stop`
/// is set. Returns how many were sent.
int64_t send_records(kafka::KafkaProducer& producer, const std::string& topic,
                     const std::vector<PlannedRecord>& records, int64_t rate, const std::atomic<bool>& stop,
                     std::atomic<int64_t>& sent, const std::function<void(int64_t)>& on_send = {});

}  // namespace couponflow::ops
