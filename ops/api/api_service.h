#pragma once
// couponflow api: the seeds' API server on couponflow (contract v2, "HTTP ingress and
// queries").

#include <cstdint>
#include <memory>
#include <string>

#include "ops/app_config.h"
#include "processor/kafka/client_properties.h"

namespace couponflow::ops {

/// Role: the HTTP service in front of the job.
///  - Ingress: POST /api/coupons/{couponId}/issue writes the contract's request
///    (AcknowledgingProducer) and answers 202 once the broker holds it, or, with
///    ?wait=MS, 200 with the decision if it arrives in time.
///  - Decisions: a DecisionMemory fed by a TopicTail over the result topics answers
///    GET /api/requests/{requestId} and the long polls.
///  - Queries: GET /api/coupons/{couponId}[/holders/{userId}] are sent to the processor
///    instance that runs the coupon's partition (InstanceDirectory), which answers from
///    its stores (InstanceQueries); 503 + Retry-After while no instance can.
///  - GET /api/coupons: the coupons of the catalog (read from its topic), for the live page.
///  - GET /: the live page; /metrics, /healthz, /readyz as on `process`.
/// Stateless apart from its memory of decisions: any number may run side by side.
/// Lifecycle: serves from construction to destruction. Thread: its own (HTTP threads,
/// tails, the producer's poller, query workers).
/// Errors: the constructor throws FatalError when it cannot listen.
class ApiService {
 public:
  /// `client`: bootstrap.servers and the client-wide properties (tool_client).
  ApiService(const AppConfig& config, const kafka::ClientProperties& client, const std::string& listen);
  ~ApiService();
  ApiService(const ApiService&) = delete;
  ApiService& operator=(const ApiService&) = delete;

  std::string host() const;
  uint16_t port() const;
  /// The decision feed, the instance directory and the catalog have caught up.
  bool ready() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace couponflow::ops
