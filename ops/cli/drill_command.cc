// couponflow drill restore|kill: failure drills that end in verify's verdict.

#include "ops/cli/client_options.h"
#include "ops/cli/commands.h"
#include "ops/drill/drill.h"

namespace couponflow::cli {

Run add_drill_command(CLI::App& root) {
  auto o = std::make_shared<ops::DrillOptions>();
  auto client = std::make_shared<ClientOptions>();
  auto output = std::make_shared<std::string>("text");
  auto kind = std::make_shared<std::string>();
  auto* cmd = root.add_subcommand(
      "drill",
      "Failure drills on an embedded broker (default) or on your cluster (--bootstrap or bootstrap.servers), where "
      "the drill runs as an application of its own (group, topics and catalog created for it; production's are never "
      "touched): each starts its own processor instances (given --config and -X as well), drives load, does its "
      "damage and ends with verify's verdict (exit 0 iff it passes).");
  cmd->require_subcommand(1);
  auto* restore = cmd->add_subcommand(
      "restore", "Stop an instance, wipe its state, restart it; report the restore (records/s, MB/s) and verify.");
  auto* kill = cmd->add_subcommand(
      "kill", "SIGKILL a random instance every --interval seconds while load runs, restart it, then verify.");
  for (auto* sub : {restore, kill}) {
    // --config/-X/--bootstrap: the cluster (none: an embedded broker), and what every
    // instance is given, as `process` takes them.
    client->add_to(sub);
    sub->add_option("--application-id", o->application_id,
                    "on a cluster: the drill's group and changelog prefix (default couponflow-drill-<time>)");
    sub->add_option("--topic-prefix", o->topic_prefix, "on a cluster: prefix of the drill's topics (default <id>.)");
    sub->add_option("--replication-factor", o->replication_factor,
                    "on a cluster that creates topics: the drill's topics' replication factor (default 3)")
        ->check(CLI::Range(1, 100));
    sub->add_flag("--production", o->production,
                  "on a cluster: run in the production application's group (coupon-processor), on its topics and "
                  "catalog instead (synthetic users request real coupons: only where that is acceptable)");
    sub->add_option("--partitions", o->partitions,
                    "partitions of the embedded broker's topics, or of the drill's own on a cluster that creates "
                    "topics (default 12)")
        ->check(CLI::Range(1, 64));
    sub->add_option("--instances", o->instances, "processor instances to run (default 2, kill: 3)")
        ->check(CLI::Range(1, 8));
    sub->add_option("--seed", o->seed, "random seed of the load");
    sub->add_option("--dir", o->work_dir, "keep state and logs here (default: a temporary directory)");
    sub->add_option("--max-duplicates-per-request", o->max_duplicates_per_request,
                    "fail if verify counts more replayed duplicate results per request than this")
        ->check(CLI::NonNegativeNumber);
    sub->add_option("--output", *output, "text (default) or json: progress on stderr, one summary object on stdout")
        ->check(CLI::IsMember({"text", "json"}));
  }
  restore->add_option("--requests", o->requests, "requests before the wipe (default 60000)")
      ->check(CLI::Range(1, 2'000'000));
  kill->add_option("--rate", o->rate, "requests per second (default 2000)")->check(CLI::Range(1, 100'000));
  kill->add_option("--duration", o->duration_seconds, "seconds of load (default 30)")->check(CLI::Range(5, 3600));
  kill->add_option("--interval", o->interval_seconds, "seconds between kills (default 8)")->check(CLI::Range(2, 600));
  restore->callback([kind] { *kind = "restore"; });
  kill->callback([kind, o, kill] {
    *kind = "kill";
    if (kill->count("--instances") == 0) o->instances = 3;
  });
  return [o, kind, output, client] {
    o->json_output = *output == "json";
    const ops::AppConfig config = client->resolve(/*cluster_optional=*/true);
    o->bootstrap = config.streams.bootstrap;
    o->client = tool_client(config);
    o->production_application_id = config.streams.application_id;
    o->production_topics = config.coupon.topics;
    if (!client->config_file.empty()) o->process_args = {"--config", client->config_file};
    for (const auto& kv : client->overrides) o->process_args.insert(o->process_args.end(), {"-X", kv});
    return *kind == "restore" ? ops::run_restore_drill(*o) : ops::run_kill_drill(*o);
  };
}

}  // namespace couponflow::cli
