#include "processor/kafka/acknowledging_producer.h"

#include <atomic>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "common/errors.h"
#include "common/log.h"
#include "processor/kafka/rdkafka_util.h"

namespace couponflow::kafka {

struct AcknowledgingProducer::Impl {
  detail::Handle rk;
  std::mutex topics_mutex;
  std::unordered_map<std::string, rd_kafka_topic_t*> topics;
  std::atomic<int64_t> in_flight{0};
  std::atomic<bool> stopping{false};
  std::thread poller;

  using Completion = std::function<void(const Delivery&)>;

  rd_kafka_topic_t* topic(const std::string& name) {
    std::lock_guard lock(topics_mutex);
    auto it = topics.find(name);
    if (it != topics.end()) return it->second;
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk.get(), name.c_str(), nullptr);
    if (rkt == nullptr) throw FatalError("cannot create topic handle " + name);
    topics.emplace(name, rkt);
    return rkt;
  }

  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    std::unique_ptr<Completion> done(static_cast<Completion*>(msg->_private));
    Delivery d;
    d.ok = msg->err == RD_KAFKA_RESP_ERR_NO_ERROR;
    if (!d.ok) d.error = rd_kafka_err2str(msg->err);
    d.partition = Partition{msg->partition};
    d.offset = Offset{msg->offset};
    self->in_flight.fetch_sub(1, std::memory_order_relaxed);
    if (done && *done) {
      try {
        (*done)(d);
      } catch (const std::exception& e) {
        log::warn("a delivery completion failed: {}", e.what());
      }
    }
  }
};

AcknowledgingProducer::AcknowledgingProducer(const ClientProperties& overrides, int delivery_timeout_ms,
                                             size_t max_in_flight)
    : impl_(std::make_unique<Impl>()) {
  ClientProperties props{
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"linger.ms", "1"},
      {"partitioner", "murmur2_random"},
      {"allow.auto.create.topics", "false"},
      {"socket.nagle.disable", "true"},
  };
  props.merge(overrides);
  props.set("message.timeout.ms", std::to_string(delivery_timeout_ms));
  props.set("queue.buffering.max.messages", std::to_string(max_in_flight));
  rd_kafka_conf_t* conf = detail::make_conf(props);
  rd_kafka_conf_set_dr_msg_cb(conf, &Impl::on_delivery);
  rd_kafka_conf_set_opaque(conf, impl_.get());
  impl_->rk = detail::new_handle(RD_KAFKA_PRODUCER, conf);
  impl_->poller = std::thread([impl = impl_.get()] {
    pthread_setname_np(pthread_self(), "cf-acks");
    while (!impl->stopping.load(std::memory_order_relaxed)) rd_kafka_poll(impl->rk.get(), 100);
  });
}

AcknowledgingProducer::~AcknowledgingProducer() {
  impl_->stopping = true;
  impl_->poller.join();
  rd_kafka_flush(impl_->rk.get(), 5'000);
  // Whatever is left fails now, so every completion runs exactly once.
  rd_kafka_purge(impl_->rk.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_poll(impl_->rk.get(), 0);
  for (auto& [name, rkt] : impl_->topics) rd_kafka_topic_destroy(rkt);
}

bool AcknowledgingProducer::send(const std::string& topic, std::string_view key, std::string_view value,
                                 int64_t timestamp_ms, std::function<void(const Delivery&)> done,
                                 std::string& error) {
  rd_kafka_topic_t* rkt = impl_->topic(topic);
  auto completion = std::make_unique<Impl::Completion>(std::move(done));
  impl_->in_flight.fetch_add(1, std::memory_order_relaxed);
  const rd_kafka_resp_err_t err = rd_kafka_producev(
      impl_->rk.get(), RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_KEY(key.data(), key.size()), RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
      RD_KAFKA_V_TIMESTAMP(timestamp_ms), RD_KAFKA_V_OPAQUE(completion.get()), RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    impl_->in_flight.fetch_sub(1, std::memory_order_relaxed);
    error = err == RD_KAFKA_RESP_ERR__QUEUE_FULL ? "too many requests are waiting for the broker"
                                                 : std::string(rd_kafka_err2str(err));
    return false;
  }
  completion.release();  // the delivery report owns it now
  return true;
}

int64_t AcknowledgingProducer::in_flight() const { return impl_->in_flight.load(std::memory_order_relaxed); }

}  // namespace couponflow::kafka
