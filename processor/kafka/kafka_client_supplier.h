#pragma once
// The production ClientSupplier: librdkafka clients.

#include <memory>
#include <string>

#include "processor/clients.h"

namespace prometheus {
class Registry;
}

namespace couponflow::kafka {

class ClientStatistics;

class KafkaClientSupplier final : public processor::ClientSupplier {
 public:
  /// With a registry, every client reports librdkafka's statistics into it
  /// (ClientStatistics; statistics.interval.ms defaults to 5000 then). A stream
  /// thread of several names its clients' series apart with `thread` (their client
  /// label becomes e.g. "StreamThread-2-consumer", as Kafka Streams names clients).
  explicit KafkaClientSupplier(std::shared_ptr<prometheus::Registry> registry = nullptr, std::string thread = "");
  ~KafkaClientSupplier() override;

  std::unique_ptr<processor::Consumer> consumer(const ClientProperties& properties, const std::string& group_id,
                                                processor::RebalanceListener* listener) override;
  std::unique_ptr<processor::Producer> producer(const ClientProperties& properties) override;
  std::unique_ptr<processor::Admin> admin(const ClientProperties& properties) override;

 private:
  /// The properties with the statistics interval defaulted, and the callback for `role`.
  std::pair<ClientProperties, StatisticsCallback> with_statistics(const ClientProperties& properties,
                                                                  const char* role) const;

  std::shared_ptr<ClientStatistics> statistics_;
  std::string thread_;
};

}  // namespace couponflow::kafka
