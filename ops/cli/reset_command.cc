// couponflow reset: reprocess the inputs from the start (or a time) with empty state,
// as Kafka Streams' application reset tool does (ops/application_reset.h).

#include <cstdio>

#include "common/errors.h"
#include "common/utc_time.h"
#include "ops/application_reset.h"
#include "ops/cli/client_options.h"
#include "ops/cli/commands.h"
#include "processor/kafka/kafka_admin.h"
#include "topology/coupon/coupon_topology.h"

namespace couponflow::cli {

namespace {

// Exit codes: 0 reset (or dry run), 1 refused (instances running), 2 usage, 3 the
// cluster could not be read or written.
constexpr int kDone = 0, kRefused = 1, kUsage = 2, kCannot = 3;

}  // namespace

Run add_reset_command(CLI::App& root) {
  struct Options {
    ClientOptions client;
    std::string application_id;
    std::string to_datetime;
    int64_t to_timestamp = -1;
    bool dry_run = false;
    std::string output = "text";
  };
  auto o = std::make_shared<Options>();
  auto* cmd = root.add_subcommand(
      "reset",
      "Make a stopped application process its inputs again with empty state (Kafka Streams' reset tool): "
      "input offsets to the log start (or --to-datetime), every changelog emptied with tombstones. Refuses "
      "while an instance runs. Exit 0: done; 1: refused (the group has members); 2: usage; 3: the cluster "
      "could not be read or written (nothing or part done: run it again).");
  o->client.add_to(cmd);
  cmd->add_option("--application-id", o->application_id, "the application to reset (default: the configuration's)");
  auto* datetime = cmd->add_option("--to-datetime", o->to_datetime,
                                   "restart the request topic at the first record at or after this UTC time "
                                   "(2026-11-29T10:00:00Z); the catalog always restarts at its start");
  cmd->add_option("--to-timestamp", o->to_timestamp, "the same, in milliseconds since the epoch")
      ->check(CLI::NonNegativeNumber)
      ->excludes(datetime);
  cmd->add_flag("--dry-run", o->dry_run, "check that no instance runs and show what would change; change nothing");
  cmd->add_option("--output", o->output, "text (default) or json")->check(CLI::IsMember({"text", "json"}));
  return [o] {
    const ops::AppConfig config = o->client.resolve();
    ops::apply_logging(config);
    ops::ResetOptions options;
    options.application_id = o->application_id.empty() ? config.streams.application_id : o->application_id;
    options.dry_run = o->dry_run;
    if (!o->to_datetime.empty()) {
      options.to_timestamp_ms = parse_utc_millis(o->to_datetime);
      if (!options.to_timestamp_ms) {
        std::fprintf(stderr, "couponflow: --to-datetime: expected UTC like 2026-11-29T10:00:00Z, got '%s'\n",
                     o->to_datetime.c_str());
        return kUsage;
      }
    } else if (o->to_timestamp >= 0) {
      options.to_timestamp_ms = o->to_timestamp;
    }
    const auto topology = coupon::build_coupon_topology(config.coupon);
    try {
      kafka::KafkaAdmin admin(tool_client(config));
      const auto report =
          ops::reset_application(tool_client(config), config.streams.consumer, topology, options, &admin);
      std::fputs((o->output == "json" ? ops::format_reset_report_json(report, options.application_id)
                                       : ops::format_reset_report(report))
                     .c_str(),
                 stdout);
      return report.group_empty ? kDone : kRefused;
    } catch (const RetriableError& e) {
      std::fprintf(stderr, "couponflow: reset: the cluster did not answer: %s\n", e.what());
      return kCannot;
    } catch (const FatalError& e) {
      std::fprintf(stderr, "couponflow: reset: %s\n", e.what());
      return kCannot;
    }
  };
}

}  // namespace couponflow::cli
