#include "ops/api/instance_endpoints.h"

#include <unistd.h>

#include "common/clock.h"
#include "ops/api/instance_advertiser.h"
#include "ops/api/instance_claim.h"
#include "ops/api/instance_queries.h"
#include "ops/http/status_server.h"
#include "processor/streams_instance.h"

namespace couponflow::ops {

namespace {
// Where the api can reach the queries: application.server, else the bound address (a
// wildcard bind is advertised under the host name).
std::string advertised_address(const std::string& configured, const std::string& host, uint16_t port) {
  if (!configured.empty()) return configured;
  if (host != "0.0.0.0" && host != "::") return fmt::format("{}:{}", host, port);
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return fmt::format("{}:{}", name, port);
}
}  // namespace

InstanceEndpoints::InstanceEndpoints(const processor::StreamsInstance& instance,
                                     std::shared_ptr<prometheus::Registry> registry,
                                     const kafka::ClientProperties& client, InstanceEndpointsOptions options)
    : queries_(std::make_unique<InstanceQueries>(instance)) {
  const int64_t liveness_timeout_ms = options.liveness_timeout_ms;
  server_ = std::make_unique<StatusServer>(
      options.listen, std::move(registry),
      [&instance, liveness_timeout_ms] {
        // A loop round blocks at most for a broker call's timeout (tens of seconds) or a
        // slow restore batch; minutes without one means a thread is wedged.
        const EpochMillis last_step = instance.last_step_ms();
        const int64_t idle_ms = SystemClock().now_ms() - last_step;
        if (last_step == 0 || idle_ms < liveness_timeout_ms) return Probe{true, ""};
        return Probe{false, fmt::format("a stream thread has not completed a round for {} s", idle_ms / 1000)};
      },
      [&instance] {
        const auto status = instance.status();
        return Probe{status.ready(), status.not_ready_reason()};
      },
      [queries = queries_.get()](HttpRequest&& request, HttpRespond respond) {
        queries->handle(std::move(request), std::move(respond));
      });
  address_ = advertised_address(options.application_server, server_->host(), server_->port());
  advertiser_ = std::make_unique<InstanceAdvertiser>(
      client,
      InstanceAdvertiser::Options{.topic = instances_topic(options.application_id),
                                  .instance = options.instance_id,
                                  .address = address_},
      [&instance] { return instance.status(); });
}

InstanceEndpoints::~InstanceEndpoints() {
  advertiser_.reset();
  server_->stop();  // before the queries it hands requests to
  queries_.reset();
}

uint16_t InstanceEndpoints::port() const { return server_->port(); }

std::string InstanceEndpoints::bound_address() const { return fmt::format("{}:{}", server_->host(), server_->port()); }

}  // namespace couponflow::ops
