#pragma once
// Internal helpers shared by the librdkafka wrappers. Included only by processor/kafka/*.cc.

#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>

#include "common/errors.h"
#include "common/log.h"
#include "processor/kafka/client_properties.h"

namespace couponflow::kafka::detail {

struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using Handle = std::unique_ptr<rd_kafka_t, HandleDeleter>;

struct ListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const { rd_kafka_topic_partition_list_destroy(l); }
};
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, ListDeleter>;

inline PartitionList new_list(int size = 0) {
  return PartitionList(rd_kafka_topic_partition_list_new(size));
}

/// Routes librdkafka's own log lines into ours (from its threads; log::write is
/// thread-safe).
inline void forward_log(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
  // The embedded broker predates the metadata flag that disables auto-creation, so
  // librdkafka warns on every metadata request; we never ask for a topic that does
  // not exist (startup checks the full topic list), so the warning says nothing.
  if (std::string_view(facility) == "AUTOCREATE") return;
  // We set this flag on purpose (see KafkaProducer); the notice repeats per client.
  if (std::string_view(facility) == "CONFWARN" &&
      std::string_view(message).find("enable.gapless.guarantee is experimental") != std::string_view::npos) {
    return;
  }
  const log::Level l = level <= 3 ? log::Level::kError : level == 4 ? log::Level::kWarn
                       : level <= 6 ? log::Level::kInfo : log::Level::kDebug;
  if (log::enabled(l)) log::write(l, fmt::format("librdkafka {} {}: {}", rd_kafka_name(rk), facility, message));
}

/// Hands a statistics document to the StatisticsCallback behind a client's opaque:
/// `Owner` is the client's Impl, with an `on_statistics` member.
template <typename Owner>
int forward_statistics(rd_kafka_t*, char* json, size_t length, void* opaque) {
  static_cast<Owner*>(opaque)->on_statistics(std::string_view(json, length));
  return 0;  // librdkafka frees the document
}

/// Builds a conf from properties; throws FatalError naming the bad property.
inline rd_kafka_conf_t* make_conf(const ClientProperties& props) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set_log_cb(conf, &forward_log);
  char err[512];
  for (const auto& [k, v] : props.entries()) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw FatalError("Kafka client property " + k + "=" + v + ": " + err);
    }
  }
  return conf;
}

/// Creates a client; on failure the conf is destroyed and FatalError thrown.
inline Handle new_handle(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw FatalError(std::string("cannot create Kafka client: ") + err);
  }
  return Handle(rk);
}

inline std::string error_text(rd_kafka_resp_err_t err) { return rd_kafka_err2str(err); }

}  // namespace couponflow::kafka::detail
