#include "ops/drill/drill.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <chrono>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "common/errors.h"
#include "common/log.h"
#include "ops/answer_tracker.h"
#include "ops/drill/broker_capacity.h"
#include "ops/embedded_topics.h"
#include "ops/fleet.h"
#include "ops/signals.h"
#include "ops/topic_plan.h"
#include "ops/verify/verify.h"
#include "ops/workload.h"
#include "processor/kafka/embedded_broker.h"
#include "processor/kafka/kafka_admin.h"
#include "processor/kafka/kafka_producer.h"
#include "processor/kafka/topic_reader.h"
#include "topology/coupon/coupon_topology.h"

namespace couponflow::ops {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

/// Where a drill runs: the user's cluster, or an embedded broker set up like the demo's.
struct Environment {
  std::unique_ptr<kafka::EmbeddedBroker> broker;
  std::string bootstrap;
  int partitions = 0;
  std::vector<CatalogEntry> coupons;
  coupon::CouponTopics topics;
  std::string application_id = "coupon-processor";
  bool own_application = false;  // a drill of its own on a cluster
  std::filesystem::path dir;
  bool own_dir = false;
  /// Where progress lines go: stdout, or stderr when stdout carries the JSON summary.
  std::FILE* out = stdout;
  bool json = false;
  /// Figures of the drill for the JSON summary (restore or kill figures).
  std::map<std::string, double> figures;

  kafka::ClientProperties properties;  // the drill's own clients', on a cluster
  kafka::ClientProperties client() const {
    kafka::ClientProperties props = properties;
    props.set("bootstrap.servers", bootstrap);
    return props;
  }
};

/// A drill on a cluster runs as an application of its own: its group, its topics
/// (created here) and its catalog. Refuses names that are production's.
void prepare_own_application(const DrillOptions& o, Environment& env) {
  const auto started = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  env.application_id = o.application_id.empty() ? fmt::format("couponflow-drill-{}", started) : o.application_id;
  env.own_application = true;
  const std::string prefix = o.topic_prefix.empty() ? env.application_id + "." : o.topic_prefix;
  const coupon::CouponTopics& production = o.production_topics;
  env.topics = production;
  for (std::string* topic : {&env.topics.issuance, &env.topics.catalog, &env.topics.issued, &env.topics.rejected,
                             &env.topics.dlq}) {
    *topic = prefix + *topic;
  }
  if (env.application_id == o.production_application_id) {
    throw std::invalid_argument("the drill would join production's group " + env.application_id +
                                ": give it an application id of its own, or say --production");
  }
  for (const auto& topic : {env.topics.issuance, env.topics.catalog, env.topics.issued, env.topics.rejected,
                            env.topics.dlq}) {
    if (topic == production.issuance || topic == production.catalog || topic == production.issued ||
        topic == production.rejected || topic == production.dlq) {
      throw std::invalid_argument("the drill would use production's topic " + topic +
                                  ": give it a topic prefix, or say --production");
    }
  }
  coupon::CouponOptions options;
  options.topics = env.topics;
  const auto topology = coupon::build_coupon_topology(options);
  const std::vector<std::string> names = topology.topics(env.application_id);
  kafka::KafkaAdmin admin(env.client());
  if (admin.supported()) {
    TopicPlanOptions plan_options;
    plan_options.partitions = o.partitions;
    plan_options.replication_factor = o.replication_factor;
    plan_options.min_insync_replicas = std::max(1, std::min(2, o.replication_factor - 1));
    std::vector<processor::NewTopic> create;
    for (const auto& p : topic_plan(topology, env.application_id, plan_options)) create.push_back(p.topic);
    admin.create_topics(create);
  } else {
    // The embedded broker has no CreateTopics but creates a topic a producer asks for,
    // every one with its default partition count: co-partitioned all the same.
    kafka::KafkaProducer producer(env.client());
    producer.warm_up(names);
  }
  const auto partitions = kafka::list_topics(env.client());
  env.partitions = 0;
  for (const auto& name : names) {
    auto it = partitions.find(name);
    if (it == partitions.end()) throw FatalError("the drill's topic " + name + " was not created");
    if (env.partitions != 0 && it->second != env.partitions) {
      throw FatalError(fmt::format("the drill's topics have different partition counts ({} has {})", name, it->second));
    }
    env.partitions = it->second;
  }
  env.coupons = balanced_catalog(env.partitions, 2, "drill", {20'000, 5'000, 50'000, 2'000});
  kafka::KafkaProducer producer(env.client());
  publish_catalog(producer, env.topics.catalog, env.coupons);
  fmt::print(env.out, "cluster {}: drill application {} on its own topics {}* ({} partitions, {} coupons of its own)\n",
             env.bootstrap, env.application_id, prefix, env.partitions, env.coupons.size());
}

Environment prepare(const DrillOptions& o, const char* drill) {
  Environment env;
  env.json = o.json_output;
  env.out = o.json_output ? stderr : stdout;
  fmt::print(env.out, "== {} drill ==\n", drill);
  if (o.bootstrap.empty()) {
    env.broker = std::make_unique<kafka::EmbeddedBroker>(1);
    create_topology_topics(*env.broker, coupon::build_coupon_topology(), {"coupon-processor"}, o.partitions);
    env.bootstrap = env.broker->bootstrap();
    env.partitions = o.partitions;
    env.coupons = balanced_catalog(o.partitions, 2, "drill", {20'000, 5'000, 50'000, 2'000});
    kafka::KafkaProducer producer(env.client());
    publish_catalog(producer, env.topics.catalog, env.coupons);
    fmt::print(env.out, "embedded broker at {}, {} partitions, {} coupons\n", env.bootstrap, env.partitions,
               env.coupons.size());
  } else if (!o.production) {
    env.bootstrap = o.bootstrap;
    env.properties = o.client;
    prepare_own_application(o, env);
  } else {
    env.bootstrap = o.bootstrap;
    env.properties = o.client;
    env.topics = o.production_topics;
    env.application_id = o.production_application_id;
    fmt::print(env.out, "--production: running in group {} on its topics and catalog\n", env.application_id);
    const auto topics = kafka::list_topics(env.client());
    auto it = topics.find(env.topics.issuance);
    if (it == topics.end()) throw FatalError("topic " + env.topics.issuance + " does not exist");
    env.partitions = it->second;
    env.coupons = read_catalog(env.client(), env.topics.catalog);
    if (env.coupons.empty()) {
      throw FatalError("the catalog is empty: publish coupons first (couponflow catalog put ...)");
    }
    fmt::print(env.out, "cluster {}, {} partitions, {} coupons in the catalog\n", env.bootstrap, env.partitions,
               env.coupons.size());
  }
  env.own_dir = o.work_dir.empty();
  env.dir = o.work_dir;
  if (env.own_dir) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "couponflow-drill-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw FatalError("cannot create a drill directory");
    env.dir = tmpl;
  }
  return env;
}

/// The instances' arguments: the embedded broker's fast group timings, the user's
/// configuration, then the drill's application and topics (last, so they win).
std::vector<std::string> instance_args(const DrillOptions& o, const Environment& env) {
  std::vector<std::string> args;
  if (env.broker) args = {"-X", "consumer.session.timeout.ms=3000", "-X", "consumer.heartbeat.interval.ms=500"};
  args.insert(args.end(), o.process_args.begin(), o.process_args.end());
  args.insert(args.end(), {"--application-id", env.application_id, "-X", "coupon.topic.issuance=" + env.topics.issuance,
                           "-X", "coupon.topic.catalog=" + env.topics.catalog, "-X",
                           "coupon.topic.issued=" + env.topics.issued, "-X", "coupon.topic.rejected=" + env.topics.rejected,
                           "-X", "coupon.topic.dlq=" + env.topics.dlq});
  return args;
}

void require_settled(Fleet& fleet, int partitions, const std::atomic<bool>& stop, std::FILE* out) {
  const auto start = Clock::now();
  if (!fleet.wait_until_settled(partitions, std::chrono::seconds(120), std::chrono::seconds(1), &stop)) {
    throw FatalError(stop.load() ? "interrupted" : "the processor group did not settle within 120 s");
  }
  std::string split;
  for (const auto& [name, ps] : fleet.running_partitions()) split += fmt::format(" {} runs {};", name, ps.size());
  fmt::print(out, "group settled after {:.1f} s:{}\n", seconds_since(start), split);
}

/// Starts instances drill-1..drill-N and waits until the group has settled.
std::vector<std::string> start_instances(Fleet& fleet, int instances, int partitions, const std::atomic<bool>& stop,
                                         std::FILE* out) {
  std::vector<std::string> names;
  for (int i = 1; i <= instances; ++i) names.push_back(fmt::format("drill-{}", i));
  for (const auto& n : names) fleet.start(n);
  require_settled(fleet, partitions, stop, out);
  return names;
}

void wait_answered(AnswerTracker& tracker, int64_t expected, const std::atomic<bool>& stop, int timeout_seconds) {
  const auto start = Clock::now();
  while (tracker.answered_records() < expected) {
    if (stop.load()) throw FatalError("interrupted");
    if (seconds_since(start) > timeout_seconds) {
      throw FatalError(fmt::format("only {} of {} records answered after {} s", tracker.answered_records(), expected,
                                   timeout_seconds));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

/// On the embedded broker, refuses (before anything starts) a load that would overflow
/// its partitions: verify could then only say "cannot verify".
void require_fits(const Environment& env, const std::vector<PlannedRecord>& records, double seconds) {
  if (!env.broker) return;  // a real cluster keeps what its retention says
  int64_t capacity = 0;
  for (const auto& c : env.coupons) capacity += c.definition.capacity;
  // Allow half a replayed answer per request: far above what kills cost (see docs/design.md).
  if (auto why = check_fits(records, env.partitions, seconds, 1.5, capacity)) throw std::invalid_argument(*why);
}

/// Stops every instance, runs verify, prints the verdict (as text, or as one JSON object
/// with the drill's figures); the drill's exit code.
int finish(Fleet& fleet, Environment& env, const char* drill, std::optional<double> max_duplicates_per_request) {
  bool clean = true;
  for (const auto& name : fleet.names()) {
    if (!fleet.running(name)) continue;
    auto status = fleet.stop(name);
    clean = clean && status == 0;
    if (status != 0) fmt::print(env.out, "instance {} did not stop cleanly ({})\n", name, status ? *status : -1);
  }
  const auto report = verify_topics(env.client(), env.topics, env.application_id);
  const double duplicates =
      report.requests > 0 ? static_cast<double>(report.duplicate_results) / static_cast<double>(report.requests) : 0;
  bool ok = report.ok() && clean;
  const bool too_many = max_duplicates_per_request && duplicates > *max_duplicates_per_request;
  if (!env.json) {
    fmt::print("{}", format_report(report, 10));
    fmt::print("replayed duplicates per request: {:.4f}\n", duplicates);
    if (too_many) {
      fmt::print("drill: FAIL: more replayed duplicates per request than --max-duplicates-per-request {}\n",
                 *max_duplicates_per_request);
    }
  }
  if (too_many) {
    ok = false;
    if (report.verdict() == Verdict::kPass) clean = false;  // exit 1
  }
  if (env.own_dir && ok) std::filesystem::remove_all(env.dir);
  if (env.own_application) {
    fmt::print(env.out, "the drill's group {} and topics {}, {}, {}, {}, {} and {}-*-changelog are kept: delete them "
               "with your cluster's tools when done\n",
               env.application_id, env.topics.issuance, env.topics.catalog, env.topics.issued, env.topics.rejected,
               env.topics.dlq, env.application_id);
  }
  if (!ok) fmt::print(env.out, "logs kept in {}\n", env.dir.string());
  const int code = !clean && report.verdict() == Verdict::kPass ? 1 : exit_code(report.verdict());
  if (env.json) {
    std::string figures;
    for (const auto& [name, value] : env.figures) {
      figures += fmt::format("{}\"{}\":{}", figures.empty() ? "" : ",", name, value);
    }
    std::string verify = format_report_json(report);
    while (!verify.empty() && verify.back() == '\n') verify.pop_back();
    fmt::print("{{\"drill\":\"{}\",\"passed\":{},\"exit_code\":{},\"instances_stopped_cleanly\":{},"
               "\"duplicates_per_request\":{:.6f},\"figures\":{{{}}},\"verify\":{}}}\n",
               drill, code == 0 ? "true" : "false", code, clean ? "true" : "false", duplicates, figures, verify);
  }
  return code;
}

}  // namespace

int run_restore_drill(const DrillOptions& o) {
  const auto& stop = install_stop_signals();
  log::set_min_level(log::Level::kWarn);
  Environment env = prepare(o, "restore");
  RequestMix mix;
  mix.id_prefix = fmt::format("restore-{}-", o.seed);
  mix.users = std::max<int64_t>(1000, o.requests);
  mix.seed = o.seed;
  const auto before = plan_requests(env.coupons, 0, o.requests, mix);
  mix.seed = o.seed + 1;
  const auto after = plan_requests(env.coupons, o.requests, std::max<int64_t>(1, o.requests / 10), mix);
  std::vector<PlannedRecord> all = before;
  all.insert(all.end(), after.begin(), after.end());
  require_fits(env, all, 0);
  Fleet fleet(self_executable(), env.bootstrap, env.dir, instance_args(o, env));
  const std::vector<std::string> names = start_instances(fleet, o.instances, env.partitions, stop, env.out);
  AnswerTracker tracker(env.client(), env.topics, env.partitions, mix.id_prefix,
                        static_cast<size_t>(o.requests + o.requests / 10 + 1));
  kafka::KafkaProducer producer(env.client());
  std::atomic<int64_t> sent{0};
  const auto on_send = [&](int64_t i) { tracker.mark_sent(i); };
  send_records(producer, env.topics.issuance, before, 0, stop, sent, on_send);
  producer.flush(60'000);
  wait_answered(tracker, static_cast<int64_t>(before.size()), stop, 300);
  fmt::print(env.out, "load: {} records sent and answered\n", before.size());

  // The drill: one instance goes away, its state with it, and comes back.
  const std::string& victim = names.front();
  const auto victim_state = fleet.state_dir(victim);
  uint64_t state_bytes = 0;
  std::error_code ec;
  for (const auto& f : std::filesystem::recursive_directory_iterator(victim_state, ec)) {
    if (f.is_regular_file(ec)) state_bytes += f.file_size(ec);
  }
  const auto status = fleet.stop(victim);
  fmt::print(env.out, "stopped {} (exit {}), wiping its state ({:.1f} MB on disk)\n", victim, status ? *status : -1,
             static_cast<double>(state_bytes) / 1e6);
  fleet.wipe_state(victim);
  const auto restarted = Clock::now();
  fleet.start(victim);
  require_settled(fleet, env.partitions, stop, env.out);
  const double back_after = seconds_since(restarted);

  int64_t records = 0, bytes = 0;
  double wall = 0;
  int tasks = 0;
  for (const auto& r : fleet.restores()) {
    if (r.instance != victim) continue;
    records += r.records;
    bytes += r.bytes;
    wall = std::max(wall, r.seconds);  // its tasks restore side by side
    ++tasks;
  }
  env.figures = {{"restored_records", static_cast<double>(records)},
                 {"restored_bytes", static_cast<double>(bytes)},
                 {"restore_seconds", wall},
                 {"running_again_seconds", back_after}};
  fmt::print(env.out, "restore: {} rebuilt {} tasks from their changelogs: {} records ({:.2f} MB) in {:.3f} s = {:.0f} "
             "records/s, {:.1f} MB/s; all partitions running again {:.1f} s after the restart\n",
             victim, tasks, records, static_cast<double>(bytes) / 1e6, wall,
             wall > 0 ? static_cast<double>(records) / wall : 0.0, wall > 0 ? static_cast<double>(bytes) / wall / 1e6 : 0.0,
             back_after);

  send_records(producer, env.topics.issuance, after, 0, stop, sent, on_send);
  producer.flush(60'000);
  wait_answered(tracker, static_cast<int64_t>(before.size() + after.size()), stop, 300);
  fmt::print(env.out, "after the restore: {} more records sent and answered\n", after.size());
  tracker.stop();
  return finish(fleet, env, "restore", o.max_duplicates_per_request);
}

int run_kill_drill(const DrillOptions& o) {
  const auto& stop = install_stop_signals();
  log::set_min_level(log::Level::kWarn);
  Environment env = prepare(o, "kill");
  RequestMix mix;
  mix.id_prefix = fmt::format("kill-{}-", o.seed);
  const int64_t total = o.rate * o.duration_seconds;
  mix.users = std::max<int64_t>(1000, total);
  mix.seed = o.seed;
  const auto load = plan_requests(env.coupons, 0, total, mix);
  require_fits(env, load, o.duration_seconds);
  Fleet fleet(self_executable(), env.bootstrap, env.dir, instance_args(o, env));
  const std::vector<std::string> names = start_instances(fleet, o.instances, env.partitions, stop, env.out);
  AnswerTracker tracker(env.client(), env.topics, env.partitions, mix.id_prefix, static_cast<size_t>(total));
  kafka::KafkaProducer producer(env.client());
  std::atomic<int64_t> sent{0};
  std::thread sender([&] {
    send_records(producer, env.topics.issuance, load, o.rate, stop, sent, [&](int64_t i) { tracker.mark_sent(i); });
  });

  std::mt19937 rng(static_cast<uint32_t>(o.seed));
  int kills = 0;
  const auto start = Clock::now();
  while (seconds_since(start) + o.interval_seconds < o.duration_seconds && !stop.load()) {
    std::this_thread::sleep_for(std::chrono::seconds(o.interval_seconds) / 2);
    const std::string& victim = names[rng() % names.size()];
    fleet.kill(victim);
    ++kills;
    fmt::print(env.out, "[{:5.1f} s] SIGKILL {} (sent {}, answered {})\n", seconds_since(start), victim, sent.load(),
               tracker.answered_records());
    std::this_thread::sleep_for(std::chrono::seconds(o.interval_seconds) / 2);
    fleet.start(victim);
    fmt::print(env.out, "[{:5.1f} s] restarted {}\n", seconds_since(start), victim);
  }
  sender.join();
  producer.flush(60'000);
  wait_answered(tracker, static_cast<int64_t>(load.size()), stop, 300);
  tracker.stop();
  int64_t restored = 0;
  for (const auto& r : fleet.restores()) restored += r.records;
  env.figures = {{"records", static_cast<double>(load.size())},
                 {"rate", static_cast<double>(o.rate)},
                 {"kills", static_cast<double>(kills)},
                 {"restored_records", static_cast<double>(restored)}};
  fmt::print(env.out, "load: {} records at {}/s over {} s, {} SIGKILLs; every record answered; {} changelog records "
             "restored along the way\n",
             load.size(), o.rate, o.duration_seconds, kills, restored);
  return finish(fleet, env, "kill", o.max_duplicates_per_request);
}

}  // namespace couponflow::ops
