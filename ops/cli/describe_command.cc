// couponflow describe: the topology; with a cluster, the group and its progress.

#include <cstdio>

#include "common/errors.h"
#include "ops/application_description.h"
#include "ops/cli/client_options.h"
#include "ops/cli/commands.h"
#include "processor/kafka/kafka_admin.h"
#include "topology/coupon/coupon_topology.h"

namespace couponflow::cli {

Run add_describe_command(CLI::App& root) {
  struct Options {
    ClientOptions client;
    std::string application_id;
    std::string output = "text";
  };
  auto o = std::make_shared<Options>();
  auto* cmd = root.add_subcommand(
      "describe",
      "Describe the application: its topology (sources, processors, sinks, stores and changelogs); with a "
      "cluster (--bootstrap or bootstrap.servers), also the group's members and their assignment (where the "
      "cluster can describe groups), each input partition's committed offset, end and lag, and the changelogs. "
      "Exit 0; 2: usage; 3: the cluster could not be read.");
  o->client.add_to(cmd);
  cmd->add_option("--application-id", o->application_id, "the application (default: the configuration's)");
  cmd->add_option("--output", o->output, "text (default) or json")->check(CLI::IsMember({"text", "json"}));
  return [o] {
    const ops::AppConfig config = o->client.resolve(/*cluster_optional=*/true);
    ops::apply_logging(config);
    const std::string application_id = o->application_id.empty() ? config.streams.application_id : o->application_id;
    const auto topology = coupon::build_coupon_topology(config.coupon);
    try {
      ops::ApplicationDescription d;
      if (config.streams.bootstrap.empty()) {
        d = ops::describe_topology(topology, application_id);
      } else {
        kafka::KafkaAdmin admin(tool_client(config));
        d = ops::describe_application(tool_client(config), topology, application_id, &admin);
      }
      std::fputs((o->output == "json" ? ops::format_description_json(d) : ops::format_description(d)).c_str(), stdout);
      return 0;
    } catch (const RetriableError& e) {
      std::fprintf(stderr, "couponflow: describe: the cluster did not answer: %s\n", e.what());
      return 3;
    } catch (const FatalError& e) {
      std::fprintf(stderr, "couponflow: describe: %s\n", e.what());
      return 3;
    }
  };
}

}  // namespace couponflow::cli
