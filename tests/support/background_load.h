#pragma once
// Requests sent from a thread of the test for as long as a scenario runs (kills,
// restarts, scale-out), at a steady, modest rate.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "common/record.h"
#include "processor/kafka/kafka_producer.h"
#include "tests/support/embedded_cluster.h"
#include "topology/coupon/request.h"

namespace couponflow::testing {

/// Role: sends 8 requests every 10 ms (~800/s) to coupon-issuance, each for a random
/// coupon of `coupons` and a random user of `users`, with a unique requestId, from its
/// own thread, from construction until stop(). Thread: one owner.
class BackgroundLoad {
 public:
  BackgroundLoad(EmbeddedCluster& cluster, std::vector<std::string> coupons, uint32_t users, uint64_t seed)
      : coupons_(std::move(coupons)), thread_([this, &cluster, users, seed] { run(cluster, users, seed); }) {}
  ~BackgroundLoad() { stop(); }
  BackgroundLoad(const BackgroundLoad&) = delete;
  BackgroundLoad& operator=(const BackgroundLoad&) = delete;

  /// Stops sending and waits until everything sent is acknowledged.
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  /// Requests sent so far (all of them, once stop() returned).
  int64_t sent() const { return sent_.load(); }

 private:
  void run(EmbeddedCluster& cluster, uint32_t users, uint64_t seed) {
    kafka::KafkaProducer producer(cluster.client());
    std::mt19937 rng(static_cast<std::mt19937::result_type>(seed));
    while (!stop_) {
      for (int i = 0; i < 8; ++i) {
        const int64_t n = sent_++;
        const std::string& coupon = coupons_[rng() % coupons_.size()];
        producer.send("coupon-issuance", std::nullopt,
                      Message{coupon, coupon::request_json(fmt::format("r{}", n), coupon,
                                                           fmt::format("u{}", rng() % users), EmbeddedCluster::now()),
                              EmbeddedCluster::now(), {}});
      }
      producer.poll();
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    producer.flush(30'000);
  }

  const std::vector<std::string> coupons_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> sent_{0};
  std::thread thread_;  // last: starts once the members it uses exist
};

}  // namespace couponflow::testing
