#pragma once
// The coupon job's interactive queries on a processor instance (contract v2, "HTTP
// ingress and queries"): the `api` service routes each query to the instance that runs
// the coupon's partition, which answers from its own stores.

#include <memory>

#include "ops/http/http_server.h"

namespace couponflow::processor {
class StreamsInstance;
}

namespace couponflow::ops {

/// Paths and statuses of the processor's query endpoint (what the api expects back).
///   GET /iq/coupons/{couponId}                  200 coupon_status_json, 404 unknown coupon
///   GET /iq/coupons/{couponId}/holders/{userId} 200 holder_json, 404 not a holder
/// and for both: 421 the partition is not run here (the api tries another claimant), 503
/// with Retry-After while the partition's task restores or its thread is busy too long,
/// 400 a malformed id.
inline constexpr int kMisdirected = 421;

/// Role: serves those paths for one StreamsInstance (StatusServer's `more` handler).
/// Each query waits for the stream thread that owns the partition (QueryMailbox), on a
/// few worker threads of its own so the HTTP threads never block.
/// Thread: handle() from any thread. Lifecycle: destroy it before the instance, and
/// after the server that calls it has stopped.
class InstanceQueries {
 public:
  /// `timeout_ms`: how long a query waits for its stream thread before 503.
  explicit InstanceQueries(const processor::StreamsInstance& instance, int timeout_ms = 2000, int workers = 2);
  ~InstanceQueries();
  InstanceQueries(const InstanceQueries&) = delete;
  InstanceQueries& operator=(const InstanceQueries&) = delete;

  void handle(HttpRequest&& request, HttpRespond respond);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace couponflow::ops
