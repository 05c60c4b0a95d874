#pragma once
// The production ClientSupplier: librdkafka clients.

#include "processor/clients.h"

namespace couponflow::kafka {

class KafkaClientSupplier final : public processor::ClientSupplier {
 public:
  std::unique_ptr<processor::Consumer> consumer(const ClientProperties& properties, const std::string& group_id,
                                                processor::RebalanceListener* listener) override;
  std::unique_ptr<processor::Producer> producer(const ClientProperties& properties) override;
};

}  // namespace couponflow::kafka
