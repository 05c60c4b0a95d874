// couponflow catalog put|delete: publish or tombstone a coupon definition.

#include "common/clock.h"
#include "common/errors.h"
#include "common/log.h"
#include "ops/cli/client_options.h"
#include "ops/cli/commands.h"
#include "processor/kafka/kafka_producer.h"
#include "processor/kafka/topic_reader.h"
#include "topology/coupon/catalog.h"
#include "topology/coupon/coupon_topology.h"

namespace couponflow::cli {

Run add_catalog_command(CLI::App& root) {
  struct Options {
    ClientOptions client;
    std::string coupon;
    int64_t capacity = 0;
    std::optional<int64_t> opens_at;
    std::optional<int64_t> closes_at;
    std::string topic;
    bool put = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = root.add_subcommand("catalog", "Publish (put) or delete a coupon definition in the catalog topic.");
  cmd->require_subcommand(1);
  auto* put = cmd->add_subcommand("put", "Publish a coupon definition (a new capacity or window replaces the old).");
  auto* del = cmd->add_subcommand("delete", "Tombstone a coupon: later requests are UNKNOWN_COUPON.");
  for (auto* sub : {put, del}) {
    o->client.add_to(sub);
    sub->add_option("--coupon", o->coupon, "coupon id (the record key)")->required();
    sub->add_option("--topic", o->topic, "catalog topic (default: coupon.topic.catalog, coupon-catalog)");
  }
  put->add_option("--capacity", o->capacity, "how many may be issued")->required()->check(CLI::NonNegativeNumber);
  put->add_option("--opens-at", o->opens_at, "epoch ms; requests timestamped earlier are NOT_OPEN");
  put->add_option("--closes-at", o->closes_at, "epoch ms; requests timestamped at or after it are CLOSED");
  put->callback([o] { o->put = true; });
  return [o] {
    const ops::AppConfig config = o->client.resolve();
    ops::apply_logging(config);
    const kafka::ClientProperties client = tool_client(config);
    const std::string topic = o->topic.empty() ? config.coupon.topics.catalog : o->topic;
    if (!kafka::list_topics(client).contains(topic)) throw FatalError("topic " + topic + " does not exist");
    kafka::KafkaProducer producer(client);
    const std::string value = coupon::catalog_json(o->coupon, {o->capacity, o->opens_at, o->closes_at});
    producer.send(topic, std::nullopt,
                  Message{o->coupon, o->put ? std::optional<std::string_view>(value) : std::nullopt,
                          SystemClock().now_ms(), {}});
    producer.flush(30'000);
    if (o->put) {
      std::printf("catalog: put %s\n", value.c_str());
    } else {
      std::printf("catalog: deleted %s\n", o->coupon.c_str());
    }
    return 0;
  };
}

}  // namespace couponflow::cli
