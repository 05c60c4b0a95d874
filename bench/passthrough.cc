#include "bench/passthrough.h"

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "processor/kafka/kafka_consumer.h"
#include "processor/kafka/kafka_producer.h"

namespace couponflow::bench {

namespace {

/// Assigns every partition from the start: the passthrough copies everything once.
class FromStart final : public kafka::RebalanceListener {
 public:
  kafka::KafkaConsumer* consumer = nullptr;
  void on_assigned(const std::vector<TopicPartition>& partitions) override {
    std::vector<std::pair<TopicPartition, std::optional<Offset>>> a;
    for (const auto& tp : partitions) a.emplace_back(tp, Offset{0});
    consumer->assign(a);
  }
  void on_revoked(const std::vector<TopicPartition>&) override {}
  void on_lost(const std::vector<TopicPartition>&) override {}
};

}  // namespace

void run_passthrough(const kafka::ClientProperties& client, const std::string& group,
                     const std::function<bool(int64_t)>& done, const std::function<void()>& on_first_records,
                     const std::function<void()>& on_finished, const PassthroughShape& shape) {
  using Clock = std::chrono::steady_clock;
  FromStart listener;
  kafka::KafkaConsumer consumer(client, group, &listener);
  listener.consumer = &consumer;
  kafka::KafkaProducer producer(client);
  const bool shaped = !shape.changelog.empty();
  producer.warm_up(shaped ? std::vector<std::string>{"coupon-issued", "coupon-rejected", shape.changelog}
                          : std::vector<std::string>{"coupon-issued"});
  consumer.subscribe({"coupon-issuance"});
  std::vector<Record> batch;
  std::map<TopicPartition, Offset> next;
  int64_t copied = 0;
  int64_t granted = 0;  // shaped: records treated as granted
  auto last_commit = Clock::now();
  while (!done(copied)) {
    batch.clear();
    consumer.poll(batch, 10'000, 100);
    if (!batch.empty() && copied == 0 && on_first_records) on_first_records();
    for (const auto& r : batch) {
      const Message copy{r.key, r.value, r.timestamp, {}};
      ++copied;
      // Shaped: a record is "granted" whenever floor(copied * granted_share) grows, so
      // that many of the first `copied` records are, evenly spread.
      if (!shaped) {
        producer.send("coupon-issued", r.partition, copy);
      } else if (static_cast<int64_t>(static_cast<double>(copied) * shape.granted_share) > granted) {
        ++granted;
        producer.send("coupon-issued", r.partition, copy);
        producer.send(shape.changelog, r.partition, copy);
      } else {
        producer.send("coupon-rejected", r.partition, copy);
      }
      next[{std::string(r.topic), r.partition}] = r.offset.next();
    }
    producer.poll();
    if (Clock::now() - last_commit > std::chrono::milliseconds(100) || done(copied)) {
      producer.flush(30'000);
      if (!next.empty()) consumer.commit({next.begin(), next.end()});
      last_commit = Clock::now();
    }
  }
  producer.flush(30'000);
  if (on_finished) on_finished();
  consumer.close();
}

}  // namespace couponflow::bench
