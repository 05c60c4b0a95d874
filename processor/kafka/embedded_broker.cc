#include "processor/kafka/embedded_broker.h"

#include "processor/kafka/rdkafka_util.h"  // rdkafka.h must come before rdkafka_mock.h

#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <stdexcept>
#include <set>
#include <sstream>

#include "common/log.h"

namespace couponflow::kafka {

namespace {

/// The mock cluster leaves Nagle's algorithm on for the connections it accepts, so a
/// response written in pieces waits for the client's delayed ACK: every produce
/// acknowledgement and fetch took ~40 ms (measured: a flush of 50 records, 44 ms; with
/// TCP_NODELAY, 0.5 ms). Linux copies TCP_NODELAY from a listening socket to the
/// sockets it accepts, so setting it on the brokers' listeners (found among this
/// process's descriptors by their port) fixes every connection.
void disable_nagle_on_listeners(const std::string& bootstrap) {
  std::set<uint16_t> ports;
  std::stringstream list(bootstrap);
  for (std::string host_port; std::getline(list, host_port, ',');) {
    ports.insert(static_cast<uint16_t>(std::stoi(host_port.substr(host_port.rfind(':') + 1))));
  }
  size_t fixed = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    const int fd = std::stoi(entry.path().filename().string());
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    int listening = 0;
    socklen_t len = sizeof listening;
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) continue;
    sockaddr_in addr{};
    len = sizeof addr;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0 || addr.sin_family != AF_INET) continue;
    if (!ports.contains(ntohs(addr.sin_port))) continue;
    const int one = 1;
    if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0) ++fixed;
  }
  if (fixed != ports.size()) {
    log::warn("embedded broker: TCP_NODELAY set on {} of {} listeners; expect ~40 ms acknowledgements", fixed,
              ports.size());
  }
}

}  // namespace

struct EmbeddedBroker::Impl {
  detail::Handle owner;  // the mock cluster lives inside a client handle
  rd_kafka_mock_cluster_t* cluster = nullptr;
};

EmbeddedBroker::EmbeddedBroker(int brokers) : impl_(std::make_unique<Impl>()), brokers_(brokers) {
  // A producer handle that is never used to produce: it only hosts the cluster.
  rd_kafka_conf_t* conf = detail::make_conf({{"log_level", "3"}});
  impl_->owner = detail::new_handle(RD_KAFKA_PRODUCER, conf);
  impl_->cluster = rd_kafka_mock_cluster_new(impl_->owner.get(), brokers);
  if (impl_->cluster == nullptr) throw FatalError("cannot start the embedded broker");
  bootstrap_ = rd_kafka_mock_cluster_bootstraps(impl_->cluster);
  disable_nagle_on_listeners(bootstrap_);
}

EmbeddedBroker::~EmbeddedBroker() {
  if (impl_->cluster != nullptr) rd_kafka_mock_cluster_destroy(impl_->cluster);
}

void EmbeddedBroker::create_topic(const std::string& topic, int partitions, int replication_factor) {
  if (auto err = rd_kafka_mock_topic_create(impl_->cluster, topic.c_str(), partitions,
                                            std::min(replication_factor, brokers_))) {
    throw FatalError("cannot create topic " + topic + ": " + detail::error_text(err));
  }
}

void EmbeddedBroker::set_broker_down(int id) {
  if (auto err = rd_kafka_mock_broker_set_down(impl_->cluster, id)) {
    throw FatalError("broker down: " + detail::error_text(err));
  }
}

void EmbeddedBroker::set_broker_rtt(int id, int rtt_ms) {
  if (auto err = rd_kafka_mock_broker_set_rtt(impl_->cluster, id, rtt_ms)) {
    throw FatalError("broker rtt: " + detail::error_text(err));
  }
}

void EmbeddedBroker::push_request_errors(const std::string& api, const std::vector<std::string>& errors) {
  // Kafka protocol API keys of the requests our clients send.
  static const std::map<std::string, int16_t> kApiKeys{
      {"Produce", 0},         {"Fetch", 1},        {"ListOffsets", 2},     {"Metadata", 3},
      {"OffsetCommit", 8},    {"OffsetFetch", 9},  {"FindCoordinator", 10}, {"JoinGroup", 11},
      {"Heartbeat", 12},      {"LeaveGroup", 13},  {"SyncGroup", 14},       {"InitProducerId", 22},
      {"AddPartitionsToTxn", 24}, {"AddOffsetsToTxn", 25}, {"EndTxn", 26}, {"TxnOffsetCommit", 28}};
  auto key = kApiKeys.find(api);
  if (key == kApiKeys.end()) throw std::invalid_argument("unknown protocol API '" + api + "'");
  const rd_kafka_err_desc* descs = nullptr;
  size_t count = 0;
  rd_kafka_get_err_descs(&descs, &count);
  std::vector<rd_kafka_resp_err_t> codes;
  for (const auto& name : errors) {
    bool found = false;
    for (size_t i = 0; i < count && !found; ++i) {
      if (descs[i].name != nullptr && name == descs[i].name) {
        codes.push_back(descs[i].code);
        found = true;
      }
    }
    if (!found) throw std::invalid_argument("unknown Kafka error '" + name + "'");
  }
  rd_kafka_mock_push_request_errors_array(impl_->cluster, key->second, codes.size(), codes.data());
}

void EmbeddedBroker::set_broker_up(int id) {
  if (auto err = rd_kafka_mock_broker_set_up(impl_->cluster, id)) {
    throw FatalError("broker up: " + detail::error_text(err));
  }
}

}  // namespace couponflow::kafka
