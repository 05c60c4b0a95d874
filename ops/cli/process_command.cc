// couponflow process: one processor instance of the coupon issuance job.

#include <prometheus/registry.h>

#include "common/log.h"
#include "ops/api/instance_endpoints.h"
#include "ops/app_config.h"
#include "ops/cli/client_options.h"
#include "ops/cli/commands.h"
#include "ops/signals.h"
#include "processor/instance_events.h"
#include "processor/streams_instance.h"
#include "topology/coupon/coupon_topology.h"

namespace couponflow::cli {

namespace {
constexpr int64_t kLivenessTimeoutMs = 180'000;

}  // namespace

Run add_process_command(CLI::App& root) {
  struct Options {
    ClientOptions client;
    std::string state_dir;
    std::string application_id;
    std::string instance_id;
    std::string guarantee;
    std::string metrics_listen = "127.0.0.1:9464";
    std::string events_file;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = root.add_subcommand(
      "process",
      "Run one processor instance: a member of consumer group <application-id> that decides coupon "
      "requests. Runs until SIGINT/SIGTERM, then commits, checkpoints and exits 0.");
  o->client.add_to(cmd);
  cmd->add_option("--state-dir", o->state_dir, "directory for local state (default /tmp/couponflow-state)");
  cmd->add_option("--application-id", o->application_id, "consumer group and changelog prefix (default coupon-processor)");
  cmd->add_option("--instance-id", o->instance_id, "instance name; enables static membership (group.instance.id)");
  cmd->add_option("--guarantee", o->guarantee, "at_least_once (default) or exactly_once_v2")
      ->check(CLI::IsMember({"at_least_once", "exactly_once_v2"}));
  cmd->add_option("--metrics-listen", o->metrics_listen,
                  "HOST:PORT for /metrics, /healthz, /readyz and interactive queries (/iq/...)");
  cmd->add_option("--events-file", o->events_file,
                  "append a JSON object per line for programs: the status address, task state changes, restores");
  return [o] {
    ops::AppConfig config = o->client.resolve();
    // Flags win over the configuration.
    if (!o->state_dir.empty()) config.streams.state_dir = o->state_dir;
    if (!o->application_id.empty()) config.streams.application_id = o->application_id;
    if (!o->instance_id.empty()) config.streams.instance_id = o->instance_id;
    if (!o->guarantee.empty()) ops::apply_setting(config, "processing.guarantee", o->guarantee);
    if (!o->events_file.empty()) config.streams.events_file = o->events_file;

    ops::apply_logging(config);
    log::set_instance(config.streams.instance_id.empty() ? config.streams.application_id
                                                         : config.streams.instance_id);
    const auto& stop = ops::install_stop_signals();
    ops::exit_if_stop_exceeds(stop, config.shutdown_timeout_ms);
    const auto topology = coupon::build_coupon_topology(config.coupon);
    log::info("topology:\n{}", topology.describe());
    auto registry = std::make_shared<prometheus::Registry>();
    processor::StreamsInstance instance(topology, config.streams, registry);
    {
      ops::InstanceEndpoints endpoints(instance, registry, tool_client(config),
                                       {.listen = o->metrics_listen,
                                        .application_id = config.streams.application_id,
                                        .instance_id = config.streams.instance_id,
                                        .application_server = config.application_server,
                                        .liveness_timeout_ms = kLivenessTimeoutMs});
      if (auto* events = instance.events()) {
        events->listening(processor::InstanceEvents::kStatusEndpoints, endpoints.bound_address());
      }
      instance.run(stop);
    }  // withdraws the query claims: the group has been left
    return 0;
  };
}

}  // namespace couponflow::cli
