#pragma once
// Everything a processor instance serves over HTTP, in one place for `process` and tests:
// /metrics, /healthz, /readyz, its interactive queries, and the claim that tells the
// api where to find them.

#include <memory>
#include <string>

#include "processor/kafka/client_properties.h"

namespace prometheus {
class Registry;
}
namespace couponflow::processor {
class StreamsInstance;
}

namespace couponflow::ops {

class InstanceAdvertiser;
class InstanceQueries;
class StatusServer;

struct InstanceEndpointsOptions {
  std::string listen = "127.0.0.1:9464";  // --metrics-listen
  std::string application_id = "coupon-processor";
  std::string instance_id;          // names the claim ("" -> its address)
  std::string application_server;   // the address to advertise ("" -> the bound one)
  int64_t liveness_timeout_ms = 180'000;
};

/// Role: a StatusServer for `instance` whose other paths are its InstanceQueries, and an
/// InstanceAdvertiser publishing the address. /healthz fails when a stream thread has
/// not completed a round for liveness_timeout_ms; /readyz when a task is not running.
/// Lifecycle: construct once the instance exists; destroy once it has stopped (the
/// claims are withdrawn then: the group has been left).
/// Errors: the constructor throws FatalError when it cannot listen.
class InstanceEndpoints {
 public:
  InstanceEndpoints(const processor::StreamsInstance& instance, std::shared_ptr<prometheus::Registry> registry,
                    const kafka::ClientProperties& client, InstanceEndpointsOptions options);
  ~InstanceEndpoints();
  InstanceEndpoints(const InstanceEndpoints&) = delete;
  InstanceEndpoints& operator=(const InstanceEndpoints&) = delete;

  uint16_t port() const;
  /// HOST:PORT the status endpoints listen on (the port chosen when it was 0).
  std::string bound_address() const;
  /// HOST:PORT as advertised.
  const std::string& address() const { return address_; }

 private:
  std::unique_ptr<InstanceQueries> queries_;
  std::unique_ptr<StatusServer> server_;
  std::string address_;
  std::unique_ptr<InstanceAdvertiser> advertiser_;
};

}  // namespace couponflow::ops
