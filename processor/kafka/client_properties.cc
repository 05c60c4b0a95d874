#include "processor/kafka/client_properties.h"

#include <stdexcept>

#include "processor/kafka/rdkafka_util.h"

namespace couponflow::kafka {

void validate_properties(const ClientProperties& properties) {
  try {
    rd_kafka_conf_destroy(detail::make_conf(properties));
  } catch (const FatalError& e) {
    throw std::invalid_argument(e.what());
  }
}

}  // namespace couponflow::kafka
