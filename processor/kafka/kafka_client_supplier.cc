#include "processor/kafka/kafka_client_supplier.h"

#include "processor/kafka/client_statistics.h"
#include "processor/kafka/kafka_admin.h"
#include "processor/kafka/kafka_consumer.h"
#include "processor/kafka/kafka_producer.h"

namespace couponflow::kafka {

namespace {
// Often enough for a scrape every 5-15 s; a document costs well under a millisecond.
constexpr const char* kDefaultStatisticsIntervalMs = "5000";
}  // namespace

KafkaClientSupplier::KafkaClientSupplier(std::shared_ptr<prometheus::Registry> registry, std::string thread)
    : statistics_(registry ? std::make_shared<ClientStatistics>(std::move(registry)) : nullptr),
      thread_(std::move(thread)) {}

KafkaClientSupplier::~KafkaClientSupplier() = default;

std::pair<ClientProperties, StatisticsCallback> KafkaClientSupplier::with_statistics(
    const ClientProperties& properties, const char* role) const {
  if (!statistics_) return {properties, {}};
  ClientProperties props{{"statistics.interval.ms", kDefaultStatisticsIntervalMs}};
  props.merge(properties);
  // The clients live no longer than the stream thread that holds this supplier.
  return {props, [statistics = statistics_, role = thread_.empty() ? std::string(role) : thread_ + "-" + role](
                     std::string_view json) {
            statistics->ingest(role, json);
          }};
}

std::unique_ptr<processor::Consumer> KafkaClientSupplier::consumer(const ClientProperties& properties,
                                                                   const std::string& group_id,
                                                                   processor::RebalanceListener* listener) {
  // The group member reads the input; the other consumer restores and reads tables.
  auto [props, on_statistics] = with_statistics(properties, listener ? "consumer" : "restore");
  return std::make_unique<KafkaConsumer>(props, group_id, listener, std::move(on_statistics));
}

std::unique_ptr<processor::Producer> KafkaClientSupplier::producer(const ClientProperties& properties) {
  auto [props, on_statistics] = with_statistics(properties, "producer");
  return std::make_unique<KafkaProducer>(props, std::move(on_statistics));
}

std::unique_ptr<processor::Admin> KafkaClientSupplier::admin(const ClientProperties& properties) {
  return std::make_unique<KafkaAdmin>(properties);
}

}  // namespace couponflow::kafka
