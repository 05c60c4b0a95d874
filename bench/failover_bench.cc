// couponflow_failover_bench: how long the partitions of a SIGKILLed instance take to
// run again on the survivor, with and without standby replicas.
//
// Two `couponflow process` instances on the embedded broker, --holdings issued-store
// entries spread over 6 partitions; instance a is SIGKILLed. Reported, from the
// survivor's log: the time from the kill until all of a's partitions run again (this
// includes the group noticing: session.timeout.ms=3000 here), and the restore itself.
// Output: standby=0|1 failover_seconds=F restored=N restore_seconds=R

#include <chrono>
#include <cstdio>
#include <set>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "common/log.h"
#include "ops/answer_tracker.h"
#include "ops/child_process.h"
#include "ops/embedded_topics.h"
#include "ops/fleet.h"
#include "ops/workload.h"
#include "processor/kafka/embedded_broker.h"
#include "topology/coupon/coupon_topology.h"

int main(int argc, char** argv) {
  using namespace couponflow;
  bool standby = false;
  int64_t holdings = 90'000;
  std::string executable;
  CLI::App app{"couponflow failover bench"};
  app.add_flag("--standby", standby, "run with num.standby.replicas=1");
  app.add_option("--holdings", holdings, "issued-store entries in all (each request is granted)");
  app.add_option("--couponflow", executable, "path of the couponflow executable")->required();
  CLI11_PARSE(app, argc, argv);
  log::set_min_level(log::Level::kWarn);

  constexpr int kPartitions = 6;
  kafka::EmbeddedBroker broker(1);
  const coupon::CouponTopics topics;
  ops::create_topology_topics(broker, coupon::build_coupon_topology(), {"coupon-processor"}, kPartitions);
  const kafka::ClientProperties client{{"bootstrap.servers", broker.bootstrap()}};
  auto coupons = ops::balanced_catalog(kPartitions, 1, "big", {10'000'000});
  kafka::KafkaProducer producer(client);
  ops::publish_catalog(producer, topics.catalog, coupons);

  const auto dir = std::filesystem::temp_directory_path() / fmt::format("couponflow-failover-{}", ::getpid());
  std::vector<std::string> args{"-X", "consumer.session.timeout.ms=3000", "-X", "consumer.heartbeat.interval.ms=500"};
  if (standby) args.insert(args.end(), {"-X", "num.standby.replicas=1"});
  int rc = 0;
  {
    ops::Fleet fleet(executable, broker.bootstrap(), dir, args);
    fleet.start("a");
    fleet.start("b");
    if (!fleet.wait_until_settled(kPartitions, std::chrono::seconds(60))) return 1;
    ops::RequestMix mix;
    mix.users = holdings;  // distinct users: nearly every request is granted
    mix.hot_share = 0;
    mix.resend_share = 0;
    auto records = ops::plan_requests(coupons, 0, holdings, mix);
    ops::AnswerTracker tracker(client, topics, kPartitions, mix.id_prefix, static_cast<size_t>(holdings));
    std::atomic<bool> stop{false};
    std::atomic<int64_t> sent{0};
    ops::send_records(producer, topics.issuance, records, 0, stop, sent);
    producer.flush(60'000);
    while (tracker.answered_records() < holdings) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    tracker.stop();
    std::this_thread::sleep_for(std::chrono::seconds(2));  // standbys catch up

    std::set<int> owned_by_a;
    for (const auto& [p_name, ps] : fleet.running_partitions()) {
      if (p_name == "a") owned_by_a.insert(ps.begin(), ps.end());
    }
    const auto killed = std::chrono::system_clock::now();
    fleet.kill("a");
    const int64_t killed_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(killed.time_since_epoch()).count();
    // Wait until b runs every partition.
    if (!fleet.wait_until_settled(kPartitions, std::chrono::seconds(60), std::chrono::milliseconds(200))) return 1;
    int64_t last_running_ms = 0;
    for (const auto& o : fleet.ownership()) {
      if (o.instance == "b" && owned_by_a.contains(o.partition) && o.to_ms == INT64_MAX) {
        last_running_ms = std::max(last_running_ms, o.from_ms);
      }
    }
    int64_t restored = 0;
    double restore_seconds = 0;
    for (const auto& r : fleet.restores()) {
      if (r.instance == "b" && owned_by_a.contains(r.partition)) {
        restored += r.records;
        restore_seconds = std::max(restore_seconds, r.seconds);
      }
    }
    std::printf("standby=%d holdings=%lld failover_seconds=%.3f restored=%lld restore_seconds=%.3f\n", standby ? 1 : 0,
                static_cast<long long>(holdings), static_cast<double>(last_running_ms - killed_ms) / 1000.0,
                static_cast<long long>(restored), restore_seconds);
    rc = fleet.stop("b") == 0 ? 0 : 1;
  }
  std::filesystem::remove_all(dir);
  return rc;
}
