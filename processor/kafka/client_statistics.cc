#include "processor/kafka/client_statistics.h"

#include <prometheus/registry.h>
#include <simdjson.h>

#include "common/log.h"

namespace couponflow::kafka {

namespace {
constexpr double kMicrosecond = 1e-6;

double number(simdjson::dom::element e) {
  if (auto v = e.get_int64(); !v.error()) return static_cast<double>(v.value());
  if (auto v = e.get_double(); !v.error()) return v.value();
  return 0;
}
}  // namespace

ClientStatistics::ClientStatistics(std::shared_ptr<prometheus::Registry> registry)
    : registry_(std::move(registry)),
      rtt_(prometheus::BuildGauge()
               .Name("couponflow_kafka_broker_rtt_seconds")
               .Help("Request round trip to a broker over librdkafka's last statistics window, by quantile.")
               .Register(*registry_)),
      connected_(prometheus::BuildGauge()
                     .Name("couponflow_kafka_broker_connected")
                     .Help("1 while the client's connection to the broker is up, else 0.")
                     .Register(*registry_)),
      request_errors_(prometheus::BuildCounter()
                          .Name("couponflow_kafka_broker_request_errors_total")
                          .Help("Requests to a broker that failed to be sent or whose response was an error.")
                          .Register(*registry_)),
      retries_(prometheus::BuildCounter()
                   .Name("couponflow_kafka_broker_request_retries_total")
                   .Help("Requests sent to a broker again.")
                   .Register(*registry_)),
      timeouts_(prometheus::BuildCounter()
                    .Name("couponflow_kafka_broker_request_timeouts_total")
                    .Help("Requests to a broker that timed out.")
                    .Register(*registry_)),
      queue_messages_(prometheus::BuildGauge()
                          .Name("couponflow_kafka_producer_queue_messages")
                          .Help("Messages in the producer's queues, not yet acknowledged by a broker.")
                          .Register(*registry_)),
      queue_bytes_(prometheus::BuildGauge()
                       .Name("couponflow_kafka_producer_queue_bytes")
                       .Help("Bytes of the messages in the producer's queues.")
                       .Register(*registry_)),
      fetch_partitions_(prometheus::BuildGauge()
                            .Name("couponflow_kafka_consumer_partitions")
                            .Help("Partitions the consumer fetches, by librdkafka's fetch state.")
                            .Register(*registry_)) {}

ClientStatistics::~ClientStatistics() = default;

void ClientStatistics::count(prometheus::Family<prometheus::Counter>& family,
                             const std::map<std::string, std::string>& labels, double cumulative) {
  prometheus::Counter& counter = family.Add(labels);
  double& last = last_cumulative_[&counter];
  // Smaller than last time: another handle, counting from 0 again.
  counter.Increment(cumulative >= last ? cumulative - last : cumulative);
  last = cumulative;
}

void ClientStatistics::ingest(const std::string& role, std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto error = parser.parse(json.data(), json.size()).get(doc)) {
    std::lock_guard lock(mutex_);
    if (!warned_) log::warn("unreadable librdkafka statistics ignored: {}", simdjson::error_message(error));
    warned_ = true;
    return;
  }
  std::lock_guard lock(mutex_);
  std::string_view type;
  if (doc["type"].get(type)) type = "";
  if (type == "producer") {
    queue_messages_.Add({{"client", role}}).Set(number(doc["msg_cnt"]));
    queue_bytes_.Add({{"client", role}}).Set(number(doc["msg_size"]));
  }

  simdjson::dom::object brokers;
  if (!doc["brokers"].get(brokers)) {
    for (auto [name, broker] : brokers) {
      // Brokers by node id: a bootstrap entry takes its broker's id once metadata
      // names it (until then -1); logical and internal entries (the group coordinator's
      // connection) repeat a broker under another name.
      int64_t node = -1;
      if (broker["nodeid"].get(node) || node < 0) continue;
      std::string_view source;
      if (broker["source"].get(source) || source == "logical" || source == "internal") continue;
      const std::map<std::string, std::string> labels{{"client", role}, {"broker", std::to_string(node)}};
      std::string_view state;
      connected_.Add(labels).Set(!broker["state"].get(state) && state == "UP" ? 1 : 0);
      count(request_errors_, labels, number(broker["txerrs"]) + number(broker["rxerrs"]));
      count(retries_, labels, number(broker["txretries"]));
      count(timeouts_, labels, number(broker["req_timeouts"]));
      simdjson::dom::element rtt;
      if (!broker["rtt"].get(rtt) && number(rtt["cnt"]) > 0) {
        for (const char* q : {"p50", "p99"}) {
          auto labelled = labels;
          labelled["quantile"] = q[1] == '5' ? "0.5" : "0.99";
          rtt_.Add(labelled).Set(number(rtt[q]) * kMicrosecond);
        }
      }
    }
  }

  if (type == "consumer") {
    std::map<std::string, double> by_state;
    simdjson::dom::object topics;
    if (!doc["topics"].get(topics)) {
      for (auto [topic_name, topic] : topics) {
        simdjson::dom::object partitions;
        if (topic["partitions"].get(partitions)) continue;
        for (auto [id, partition] : partitions) {
          int64_t p = -1;
          std::string_view fetch_state;
          // Partition -1 is librdkafka's internal "unassigned" partition.
          if (partition["partition"].get(p) || p < 0 || partition["fetch_state"].get(fetch_state)) continue;
          if (fetch_state == "none") continue;  // known from metadata, not fetched
          by_state[std::string(fetch_state)] += 1;
        }
      }
    }
    auto& seen = fetch_states_seen_[role];
    for (const auto& [state, n] : by_state) seen.insert(state);
    for (const auto& state : seen) {
      auto it = by_state.find(state);
      fetch_partitions_.Add({{"client", role}, {"state", state}}).Set(it == by_state.end() ? 0 : it->second);
    }
  }
}

}  // namespace couponflow::kafka
