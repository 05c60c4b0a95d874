#include "processor/kafka/embedded_broker.h"

#include "processor/kafka/rdkafka_util.h"  // rdkafka.h must come before rdkafka_mock.h

#include <librdkafka/rdkafka_mock.h>

namespace couponflow::kafka {

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

void EmbeddedBroker::set_broker_up(int id) {
  if (auto err = rd_kafka_mock_broker_set_up(impl_->cluster, id)) {
    throw FatalError("broker up: " + detail::error_text(err));
  }
}

}  // namespace couponflow::kafka
