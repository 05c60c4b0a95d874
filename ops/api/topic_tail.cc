#include "ops/api/topic_tail.h"

#include <atomic>
#include <map>
#include <thread>

#include "common/errors.h"
#include "common/log.h"
#include "processor/kafka/kafka_consumer.h"

namespace couponflow::ops {

namespace {
constexpr int kBrokerTimeoutMs = 5'000;
constexpr int kRecheckPartitionsMs = 10'000;
}  // namespace

struct TopicTail::Impl {
  kafka::ClientProperties client;
  std::vector<std::string> topics;
  StartPosition start;
  std::function<void(const Record&)> on_record;
  std::string what;
  std::atomic<bool> stopping{false};
  std::atomic<bool> ready{false};
  std::thread thread;

  std::unique_ptr<kafka::KafkaConsumer> consumer;
  std::map<TopicPartition, Offset> catch_up;  // partitions still short of their end at start
  std::map<std::string, int32_t> assigned;    // partition count assigned per topic

  // Assigns the partitions not assigned yet; true if all topics exist.
  bool assign_new_partitions(bool initial) {
    const auto counts = consumer->topic_partitions(kBrokerTimeoutMs);
    bool all = true;
    std::vector<std::pair<TopicPartition, std::optional<Offset>>> add;
    for (const auto& topic : topics) {
      auto it = counts.find(topic);
      if (it == counts.end()) {
        all = false;
        continue;
      }
      for (int32_t p = assigned[topic]; p < it->second; ++p) {
        TopicPartition tp{topic, Partition{p}};
        const auto w = consumer->query_watermarks(tp, kBrokerTimeoutMs);
        const Offset from{std::clamp(start(w).value, w.low.value, w.high.value)};
        add.emplace_back(tp, from);
        if (initial && from < w.high) catch_up[tp] = w.high;
      }
      assigned[topic] = std::max(assigned[topic], it->second);
    }
    if (!add.empty()) consumer->assign(add);
    return all;
  }

  void open() {
    kafka::ClientProperties props = client;
    props.set("enable.partition.eof", "false");
    // A group id only so librdkafka gives the consumer its queue: the tail never joins
    // the group nor commits to it.
    consumer = std::make_unique<kafka::KafkaConsumer>(props, "couponflow-api-tail", nullptr);
    assigned.clear();
    catch_up.clear();
    try {
      if (!assign_new_partitions(true)) log::warn("{}: a topic of [{}] does not exist yet", what, fmt::join(topics, ", "));
    } catch (...) {
      consumer.reset();  // opened again, from the start positions, at the next round
      throw;
    }
    if (catch_up.empty()) ready = true;
  }

  void run() {
    pthread_setname_np(pthread_self(), "cf-tail");
    std::vector<Record> batch;
    auto last_check = std::chrono::steady_clock::now();
    while (!stopping.load(std::memory_order_relaxed)) {
      try {
        if (!consumer) open();
        if (std::chrono::steady_clock::now() - last_check > std::chrono::milliseconds(kRecheckPartitionsMs)) {
          assign_new_partitions(false);
          last_check = std::chrono::steady_clock::now();
        }
        batch.clear();
        consumer->poll(batch, 1000, 100);
        for (const Record& r : batch) {
          on_record(r);
          if (!ready.load(std::memory_order_relaxed)) {
            auto it = catch_up.find(TopicPartition{std::string(r.topic), r.partition});
            if (it != catch_up.end() && r.offset.next() >= it->second) catch_up.erase(it);
            if (catch_up.empty()) ready = true;
          }
        }
      } catch (const FatalError& e) {
        // Most likely the log was trimmed under us: start again from what is there.
        log::warn("{}: {}; reading on from the current log start", what, e.what());
        consumer.reset();
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
      } catch (const std::exception& e) {
        log::warn("{}: {}; retrying", what, e.what());
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
      }
    }
    if (consumer) consumer->close(1'000);
  }
};

TopicTail::TopicTail(const kafka::ClientProperties& client, std::vector<std::string> topics, StartPosition start,
                     std::function<void(const Record&)> on_record, std::string what)
    : impl_(std::make_unique<Impl>()) {
  impl_->client = client;
  impl_->topics = std::move(topics);
  impl_->start = std::move(start);
  impl_->on_record = std::move(on_record);
  impl_->what = std::move(what);
  impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
}

TopicTail::~TopicTail() {
  impl_->stopping = true;
  impl_->thread.join();
}

bool TopicTail::ready() const { return impl_->ready.load(); }

}  // namespace couponflow::ops
