#include "processor/kafka/kafka_client_supplier.h"

#include "processor/kafka/kafka_consumer.h"
#include "processor/kafka/kafka_producer.h"

namespace couponflow::kafka {

std::unique_ptr<processor::Consumer> KafkaClientSupplier::consumer(const ClientProperties& properties,
                                                                   const std::string& group_id,
                                                                   processor::RebalanceListener* listener) {
  return std::make_unique<KafkaConsumer>(properties, group_id, listener);
}

std::unique_ptr<processor::Producer> KafkaClientSupplier::producer(const ClientProperties& properties) {
  return std::make_unique<KafkaProducer>(properties);
}

}  // namespace couponflow::kafka
