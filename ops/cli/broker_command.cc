// couponflow broker: the embedded Kafka-protocol cluster for development, demos and tests.

#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "common/log.h"
#include "ops/cli/commands.h"
#include "ops/embedded_topics.h"
#include "ops/signals.h"
#include "processor/kafka/embedded_broker.h"
#include "topology/coupon/coupon_topology.h"

namespace couponflow::cli {

namespace {

/// One fault-injection command (see --control). Returns the reply line.
std::string apply_control(kafka::EmbeddedBroker& broker, const std::string& line) {
  std::istringstream in(line);
  std::string verb;
  in >> verb;
  try {
    if (verb == "down" || verb == "up") {
      int id = 0;
      if (!(in >> id)) return "error: usage: " + verb + " BROKER_ID";
      verb == "down" ? broker.set_broker_down(id) : broker.set_broker_up(id);
    } else if (verb == "rtt") {
      int id = 0, ms = 0;
      if (!(in >> id >> ms)) return "error: usage: rtt BROKER_ID MS";
      broker.set_broker_rtt(id, ms);
    } else if (verb == "errors") {
      std::string api;
      std::vector<std::string> errors;
      in >> api;
      for (std::string e; in >> e;) errors.push_back(e);
      if (api.empty() || errors.empty()) return "error: usage: errors API ERROR [ERROR...]";
      broker.push_request_errors(api, errors);
    } else {
      return "error: unknown command '" + verb + "'";
    }
  } catch (const std::exception& e) {
    return std::string("error: ") + e.what();
  }
  log::info("fault injected: {}", line);
  return "ok";
}

}  // namespace

Run add_broker_command(CLI::App& root) {
  struct Options {
    int brokers = 1;
    int partitions = 12;
    std::string bootstrap_file;
    std::vector<std::string> application_ids{"coupon-processor"};
    bool control = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = root.add_subcommand(
      "broker",
      "Run the embedded Kafka-protocol cluster (librdkafka's mock cluster: in memory, loopback only) "
      "with the application's topics created. Prints the bootstrap list as the first line of stdout "
      "and runs until SIGINT/SIGTERM.");
  cmd->add_option("--brokers", o->brokers, "number of brokers")->check(CLI::Range(1, 9));
  cmd->add_option("--partitions", o->partitions, "partitions of every topic")->check(CLI::Range(1, 1000));
  cmd->add_option("--bootstrap-file", o->bootstrap_file, "also write the bootstrap list to this file");
  cmd->add_option("--application-id", o->application_ids,
                  "create the changelog topics of these application ids (default coupon-processor)");
  cmd->add_flag("--control", o->control,
                "read fault-injection commands from stdin, one per line: 'down ID', 'up ID', "
                "'rtt ID MS', 'errors API ERROR [ERROR...]' (e.g. 'errors Produce REQUEST_TIMED_OUT'); "
                "each is answered 'ok' or 'error: ...' on stdout");
  return [o] {
    const auto& stop = ops::install_stop_signals();
    log::set_instance("broker");
    kafka::EmbeddedBroker broker(o->brokers);
    const auto topics = ops::create_topology_topics(broker, coupon::build_coupon_topology(),
                                                    o->application_ids, o->partitions);
    if (!o->bootstrap_file.empty()) {
      const std::string tmp = o->bootstrap_file + ".tmp";
      std::ofstream(tmp) << broker.bootstrap() << "\n";
      std::filesystem::rename(tmp, o->bootstrap_file);  // readers never see a partial file
    }
    std::printf("%s\n", broker.bootstrap().c_str());
    std::fflush(stdout);
    log::info("embedded broker up: {} broker(s) at {}; topics ({} partitions each): {}", o->brokers,
              broker.bootstrap(), o->partitions, fmt::join(topics, ", "));
    std::thread control;
    if (o->control) {
      control = std::thread([&broker] {
        for (std::string line; std::getline(std::cin, line);) {
          std::printf("%s\n", apply_control(broker, line).c_str());
          std::fflush(stdout);
        }
      });
      control.detach();  // blocked in a read of stdin; ends with the process
    }
    while (!stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    log::info("embedded broker stopping");
    return 0;
  };
}

}  // namespace couponflow::cli
