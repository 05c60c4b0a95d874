#pragma once
// The benchmarks' workload, drawn the same way in every bench so that their figures
// compare (runtime, latency, Redis): 100 coupons coupon-000..099 of capacity 100..999,
// then requests for a uniform coupon and one of 200,000 users, all from
// std::mt19937_64(42) in that order. Most coupons sell out: ~18% of requests are granted.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace couponflow::bench {

class FlashSaleWorkload {
 public:
  static constexpr int kCoupons = 100;
  static constexpr uint64_t kUsers = 200'000;

  struct Request {
    int coupon;  // index: coupon_id(coupon)
    std::string user_id;
  };

  FlashSaleWorkload() {
    for (int c = 0; c < kCoupons; ++c) capacities_.push_back(static_cast<int64_t>(100 + rng_() % 900));
  }

  static std::string coupon_id(int coupon) { return fmt::format("coupon-{:03}", coupon); }
  /// Capacity of each coupon, by index.
  const std::vector<int64_t>& capacities() const { return capacities_; }
  /// The next request, for one of the first `coupons` coupons (1: a single hot coupon).
  Request next(int coupons = kCoupons) {
    const int coupon = static_cast<int>(rng_() % static_cast<uint64_t>(coupons));
    return {coupon, fmt::format("user-{}", rng_() % kUsers)};
  }

 private:
  std::mt19937_64 rng_{42};
  std::vector<int64_t> capacities_;
};

}  // namespace couponflow::bench
