// couponflow loadgen: coupon requests for the coupons in the catalog.


#include <fmt/format.h>

#include "common/errors.h"
#include "common/json_string.h"
#include "common/log.h"
#include "ops/cli/client_options.h"
#include "ops/cli/commands.h"
#include "ops/progress_reporter.h"
#include "ops/signals.h"
#include "ops/workload.h"
#include "topology/coupon/coupon_topology.h"

namespace couponflow::cli {

Run add_loadgen_command(CLI::App& root) {
  struct Options {
    ClientOptions client;
    int64_t requests = 10'000;
    int64_t rate = 0;
    ops::RequestMix mix;
    std::string output = "text";
  };
  auto o = std::make_shared<Options>();
  auto* cmd = root.add_subcommand(
      "loadgen",
      "Send coupon requests for the coupons in the catalog, keyed by coupon id and partitioned by murmur2, with "
      "one hot coupon and client resends.");
  o->client.add_to(cmd);
  cmd->add_option("--requests", o->requests, "requests to send (default 10000)")->check(CLI::Range(1, 100'000'000));
  cmd->add_option("--rate", o->rate, "requests per second (default: as fast as possible)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--users", o->mix.users, "distinct users (default 40000)")->check(CLI::PositiveNumber);
  cmd->add_option("--hot-share", o->mix.hot_share, "share of requests for the first coupon (default 0.06)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--resend-share", o->mix.resend_share, "share of requests sent twice (default 0.02)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--id-prefix", o->mix.id_prefix, "requestId prefix (default d-)");
  cmd->add_option("--seed", o->mix.seed, "random seed");
  cmd->add_option("--output", o->output, "text (default) or json: the summary on stdout; progress goes to stderr")
      ->check(CLI::IsMember({"text", "json"}));
  return [o] {
    const auto& stop = ops::install_stop_signals();
    const ops::AppConfig config = o->client.resolve();
    ops::apply_logging(config);
    const coupon::CouponTopics& topics = config.coupon.topics;
    const kafka::ClientProperties client = tool_client(config);
    const auto coupons = ops::read_catalog(client, topics.catalog);
    if (coupons.empty()) throw FatalError("the catalog is empty: publish coupons first (couponflow catalog put ...)");
    const auto records = ops::plan_requests(coupons, 0, o->requests, o->mix);
    kafka::KafkaProducer producer(client);
    producer.warm_up({topics.issuance});
    std::atomic<int64_t> sent{0};
    double seconds = 0;
    {
      ops::ProgressReporter progress([&](double elapsed) {
        log::info("loadgen: {} of {} records sent ({:.0f}/s)", sent.load(), records.size(), sent.load() / elapsed);
      });
      ops::send_records(producer, topics.issuance, records, o->rate, stop, sent);
      producer.flush(60'000);
      seconds = progress.seconds();
    }
    const double per_second = static_cast<double>(sent.load()) / seconds;
    if (o->output == "json") {
      std::string topic;
      append_json_string(topic, topics.issuance);
      std::printf("{\"sent\":%lld,\"requests\":%lld,\"coupons\":%zu,\"topic\":%s,\"seconds\":%.3f,\"per_second\":%.0f}\n",
                  static_cast<long long>(sent.load()), static_cast<long long>(o->requests), coupons.size(),
                  topic.c_str(), seconds, per_second);
    } else {
      std::printf("loadgen: %lld records (%lld requests, %zu coupons) sent to %s in %.2f s (%.0f/s)\n",
                  static_cast<long long>(sent.load()), static_cast<long long>(o->requests), coupons.size(),
                  topics.issuance.c_str(), seconds, per_second);
    }
    return 0;
  };
}

}  // namespace couponflow::cli
