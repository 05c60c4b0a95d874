// couponflow demo: the main job end to end on the embedded broker.

#include "ops/cli/commands.h"
#include "ops/demo/demo.h"

namespace couponflow::cli {

Run add_demo_command(CLI::App& root) {
  auto o = std::make_shared<ops::DemoOptions>();
  auto* cmd = root.add_subcommand(
      "demo",
      "Run the coupon job end to end on the embedded broker: a catalog, processor instances, a burst "
      "of requests, then a per-coupon table, throughput, latency percentiles and verify's verdict.");
  cmd->add_option("--requests", o->requests, "requests in the burst (default 100000)")->check(CLI::Range(1, 2'000'000));
  cmd->add_option("--steady-rate", o->steady_rate, "requests/s of the steady phase after the burst (default 5000)")
      ->check(CLI::Range(1, 100'000));
  cmd->add_option("--steady-seconds", o->steady_seconds, "length of the steady phase (default 4; 0 skips it)")
      ->check(CLI::Range(0, 60));
  cmd->add_option("--instances", o->instances, "processor instances (default 2)")->check(CLI::Range(1, 8));
  cmd->add_option("--partitions", o->partitions, "partitions per topic (default 12)")->check(CLI::Range(1, 64));
  cmd->add_option("--brokers", o->brokers, "embedded brokers (default 3)")->check(CLI::Range(1, 5));
  cmd->add_option("--seed", o->seed, "random seed of the load");
  cmd->add_option("-X", o->process_settings, "key=value passed to every processor instance (repeatable)");
  cmd->add_option("--dir", o->work_dir, "keep logs and state here (default: a temporary directory)");
  auto output = std::make_shared<std::string>("text");
  cmd->add_option("--output", *output, "text (default) or json: progress on stderr, one summary object on stdout")
      ->check(CLI::IsMember({"text", "json"}));
  return [o, output] {
    o->json_output = *output == "json";
    return ops::run_demo(*o);
  };
}

}  // namespace couponflow::cli
