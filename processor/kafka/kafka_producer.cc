#include "processor/kafka/kafka_producer.h"

#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <unordered_map>

#include "common/log.h"
#include "processor/kafka/kafka_consumer.h"
#include "processor/kafka/rdkafka_util.h"

namespace couponflow::kafka {

struct KafkaProducer::Impl {
  static inline std::atomic<uint64_t> created{0};
  const uint64_t serial = ++created;  // never 0, never reused
  detail::Handle rk;
  std::mutex topics_mutex;  // send() may be called from several threads
  std::unordered_map<std::string, rd_kafka_topic_t*> topics;
  // Last acknowledged offset per (topic handle, partition): keyed by handle so the
  // delivery callback needs no string work.
  std::map<std::pair<const rd_kafka_topic_t*, int32_t>, int64_t> acked;
  bool transactional = false;
  StatisticsCallback on_statistics;
  uint64_t failed = 0;
  std::atomic<uint64_t> delivery_errors{0};  // written by librdkafka's thread in poll
  std::string first_error;

  rd_kafka_topic_t* topic(const std::string& name) {
    // A stream thread sends to the same few topics over and over (results, changelog):
    // it remembers the handles it used last, so a send takes no lock and hashes nothing.
    // Entries name their producer by serial, never by address, which a later producer
    // may reuse; a handle lives as long as its producer.
    struct Recent {
      uint64_t producer = 0;
      std::string name;
      rd_kafka_topic_t* rkt = nullptr;
    };
    thread_local std::array<Recent, 4> recent;
    thread_local size_t replace_next = 0;
    for (const Recent& r : recent) {
      if (r.producer == serial && r.name == name) return r.rkt;
    }
    rd_kafka_topic_t* rkt = topic_locked(name);
    Recent& slot = recent[replace_next++ % recent.size()];
    slot.producer = serial;
    slot.name = name;
    slot.rkt = rkt;
    return rkt;
  }

  rd_kafka_topic_t* topic_locked(const std::string& name) {
    std::lock_guard lock(topics_mutex);
    auto it = topics.find(name);
    if (it != topics.end()) return it->second;
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk.get(), name.c_str(), nullptr);
    if (rkt == nullptr) {
      throw FatalError("cannot create topic handle " + name + ": " +
                       detail::error_text(rd_kafka_last_error()));
    }
    topics.emplace(name, rkt);
    return rkt;
  }

  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    if (msg->err) {
      if (msg->err != RD_KAFKA_RESP_ERR__PURGE_QUEUE && msg->err != RD_KAFKA_RESP_ERR__PURGE_INFLIGHT) {
        self->delivery_errors.fetch_add(1, std::memory_order_relaxed);
      }
      if (self->failed++ == 0) {
        self->first_error = fmt::format("delivery to {}-{} failed: {}", rd_kafka_topic_name(msg->rkt),
                                        msg->partition, rd_kafka_err2str(msg->err));
      }
      return;
    }
    auto& last = self->acked[{msg->rkt, msg->partition}];
    if (msg->offset > last) last = msg->offset;
  }
};

KafkaProducer::KafkaProducer(const ClientProperties& overrides, StatisticsCallback on_statistics)
    : impl_(std::make_unique<Impl>()) {
  impl_->on_statistics = std::move(on_statistics);
  const bool transactional = !overrides.get("transactional.id").empty();
  ClientProperties props{
      {"enable.idempotence", "true"},
      // A changelog must be an in-order prefix of its task's writes: a batch that fails
      // while later ones succeed (a gap) stops the producer instead of going unnoticed,
      // and nothing times out (the gapless guarantee does not cover timeouts): during
      // a broker outage records wait, they are never dropped.
      {"enable.gapless.guarantee", transactional ? "false" : "true"},
      // A transactional producer must time out within its transaction (a record that
      // fails aborts the transaction instead, and its work is redone).
      {"message.timeout.ms", transactional ? "60000" : "0"},
      {"acks", "all"},
      {"linger.ms", "5"},
      {"batch.num.messages", "10000"},
      {"queue.buffering.max.messages", "2000000"},
      {"queue.buffering.max.kbytes", "1048576"},
      {"partitioner", "murmur2_random"},
      {"allow.auto.create.topics", "false"},
      // Small requests must not wait for a delayed ACK (as the Java client does).
      {"socket.nagle.disable", "true"},
  };
  props.merge(overrides);
  rd_kafka_conf_t* conf = detail::make_conf(props);
  rd_kafka_conf_set_dr_msg_cb(conf, &Impl::on_delivery);
  if (impl_->on_statistics) rd_kafka_conf_set_stats_cb(conf, &detail::forward_statistics<Impl>);
  rd_kafka_conf_set_opaque(conf, impl_.get());
  impl_->rk = detail::new_handle(RD_KAFKA_PRODUCER, conf);
  impl_->transactional = transactional;
}

KafkaProducer::~KafkaProducer() {
  for (auto& [name, rkt] : impl_->topics) rd_kafka_topic_destroy(rkt);
  impl_->topics.clear();
}

void KafkaProducer::send(const std::string& topic, std::optional<Partition> partition,
                         const Message& message) {
  rd_kafka_topic_t* rkt = impl_->topic(topic);
  rd_kafka_headers_t* headers = nullptr;
  if (!message.headers.empty()) {
    headers = rd_kafka_headers_new(message.headers.size());
    for (const auto& h : message.headers) {
      rd_kafka_header_add(headers, h.key.data(), static_cast<ssize_t>(h.key.size()), h.value.data(),
                          static_cast<ssize_t>(h.value.size()));
    }
  }
  const int32_t p = partition ? partition->value : RD_KAFKA_PARTITION_UA;
  // A null key or value stays null: Kafka distinguishes it from an empty one.
  const char* key = message.key ? message.key->data() : nullptr;
  const size_t key_size = message.key ? message.key->size() : 0;
  char* value = message.value ? const_cast<char*>(message.value->data()) : nullptr;
  const size_t value_size = message.value ? message.value->size() : 0;
  for (;;) {
    rd_kafka_resp_err_t err = rd_kafka_producev(
        impl_->rk.get(), RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(p),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, key_size),
        RD_KAFKA_V_VALUE(value, value_size), RD_KAFKA_V_TIMESTAMP(message.timestamp),
        RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return;  // the headers now belong to the message
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      // Back-pressure: wait for deliveries to free queue space, never drop.
      rd_kafka_poll(impl_->rk.get(), 10);
      continue;
    }
    if (headers != nullptr) rd_kafka_headers_destroy(headers);
    if (err == RD_KAFKA_RESP_ERR__STATE && impl_->transactional) {
      // The current transaction has failed (e.g. the broker refused to add a partition
      // to it): nothing more may join it; it must be aborted and its work redone.
      throw TransactionAbortedError(fmt::format("cannot produce to {}: the transaction has failed", topic));
    }
    throw FatalError(fmt::format("cannot produce to {}: {}", topic, rd_kafka_err2str(err)));
  }
}

uint64_t KafkaProducer::delivery_errors() const { return impl_->delivery_errors.load(std::memory_order_relaxed); }

std::optional<Offset> KafkaProducer::last_acked_offset(const TopicPartition& tp) const {
  std::lock_guard lock(impl_->topics_mutex);
  auto t = impl_->topics.find(tp.topic);
  if (t == impl_->topics.end()) return std::nullopt;
  auto it = impl_->acked.find({t->second, tp.partition.value});
  if (it == impl_->acked.end()) return std::nullopt;
  return Offset{it->second};
}

void KafkaProducer::flush(int timeout_ms) {
  rd_kafka_resp_err_t err = rd_kafka_flush(impl_->rk.get(), timeout_ms);
  char fatal[512];
  if (rd_kafka_fatal_error(impl_->rk.get(), fatal, sizeof fatal) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw FatalError(std::string("producer fatal error: ") + fatal);
  }
  if (impl_->failed > 0) {
    throw FatalError(fmt::format("{} record(s) could not be delivered; first: {}", impl_->failed,
                                 impl_->first_error));
  }
  if (err == RD_KAFKA_RESP_ERR__TIMED_OUT) {
    throw RetriableError(fmt::format("producer flush timed out after {} ms with {} in flight",
                                     timeout_ms, in_flight()));
  }
}

namespace {
/// Classifies a transactional API error once, as librdkafka documents them.
[[noreturn]] void throw_txn_error(rd_kafka_error_t* error, std::string_view what) {
  std::string text = fmt::format("{}: {}", what, rd_kafka_error_string(error));
  const bool fatal = rd_kafka_error_is_fatal(error);
  const bool abortable = rd_kafka_error_txn_requires_abort(error);
  const bool retriable = rd_kafka_error_is_retriable(error);
  rd_kafka_error_destroy(error);
  if (fatal) throw FatalError(text);
  if (abortable) throw TransactionAbortedError(text);
  if (retriable) throw RetriableError(text);
  throw FatalError(text);
}
}  // namespace

void KafkaProducer::init_transactions(int timeout_ms) {
  if (rd_kafka_error_t* e = rd_kafka_init_transactions(impl_->rk.get(), timeout_ms)) throw_txn_error(e, "init transactions");
}

void KafkaProducer::begin_transaction() {
  if (rd_kafka_error_t* e = rd_kafka_begin_transaction(impl_->rk.get())) throw_txn_error(e, "begin transaction");
  in_transaction_ = true;
}

void KafkaProducer::send_offsets_to_transaction(const std::vector<std::pair<TopicPartition, Offset>>& offsets,
                                                processor::Consumer& group_member, int timeout_ms) {
  auto* consumer = dynamic_cast<KafkaConsumer*>(&group_member);
  if (consumer == nullptr) throw std::logic_error("send_offsets_to_transaction needs a KafkaConsumer");
  const void* consumer_handle = consumer->native_handle();
  auto list = detail::new_list(static_cast<int>(offsets.size()));
  for (const auto& [tp, offset] : offsets) {
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition.value)->offset = offset.value;
  }
  rd_kafka_consumer_group_metadata_t* group =
      rd_kafka_consumer_group_metadata(static_cast<rd_kafka_t*>(const_cast<void*>(consumer_handle)));
  rd_kafka_error_t* e = rd_kafka_send_offsets_to_transaction(impl_->rk.get(), list.get(), group, timeout_ms);
  rd_kafka_consumer_group_metadata_destroy(group);
  if (e != nullptr) throw_txn_error(e, "send offsets to transaction");
}

void KafkaProducer::commit_transaction(int timeout_ms) {
  if (rd_kafka_error_t* e = rd_kafka_commit_transaction(impl_->rk.get(), timeout_ms)) throw_txn_error(e, "commit transaction");
  in_transaction_ = false;
  if (impl_->failed > 0) {
    // Cannot happen after a successful commit (any failed record fails the commit),
    // but a delivery error must never pass silently.
    throw FatalError(fmt::format("{} record(s) failed in a committed transaction; first: {}", impl_->failed,
                                 impl_->first_error));
  }
}

void KafkaProducer::abort_transaction(int timeout_ms) {
  if (rd_kafka_error_t* e = rd_kafka_abort_transaction(impl_->rk.get(), timeout_ms)) throw_txn_error(e, "abort transaction");
  in_transaction_ = false;
  // Deliveries that failed belonged to the aborted transaction: its work is redone.
  impl_->failed = 0;
  impl_->first_error.clear();
}

void KafkaProducer::poll() { rd_kafka_poll(impl_->rk.get(), 0); }

int64_t KafkaProducer::in_flight() const { return rd_kafka_outq_len(impl_->rk.get()); }

void KafkaProducer::warm_up(const std::vector<std::string>& topics) {
  for (const auto& name : topics) {
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_resp_err_t err = rd_kafka_metadata(impl_->rk.get(), 0, impl_->topic(name), &md, 10000);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      log::warn("metadata for {} not available yet: {}", name, rd_kafka_err2str(err));
      continue;
    }
    rd_kafka_metadata_destroy(md);
  }
}

}  // namespace couponflow::kafka
