#include "processor/kafka/kafka_consumer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "common/log.h"
#include "processor/kafka/rdkafka_util.h"

namespace couponflow::kafka {

namespace {
/// Wraps a message without copying: the record owns it and destroys it.
Record to_record(rd_kafka_message_t* msg) {
  Record r;
  r.topic = rd_kafka_topic_name(msg->rkt);
  r.partition = Partition{msg->partition};
  r.offset = Offset{msg->offset};
  r.timestamp = rd_kafka_message_timestamp(msg, nullptr);
  if (msg->key != nullptr) r.key = std::string_view(static_cast<const char*>(msg->key), msg->key_len);
  if (msg->payload != nullptr) r.value = std::string_view(static_cast<const char*>(msg->payload), msg->len);
  r.storage = RecordStorage(msg, [](void* m) { rd_kafka_message_destroy(static_cast<rd_kafka_message_t*>(m)); });
  return r;
}
}  // namespace

struct KafkaConsumer::Impl {
  detail::Handle rk;
  rd_kafka_queue_t* queue = nullptr;  // the consumer queue (messages and events)
  RebalanceListener* listener = nullptr;
  StatisticsCallback on_statistics;
  bool group_member = false;
  bool in_rebalance = false;
  bool assigned_in_callback = false;
  bool ever_assigned = false;  // a rebalance callback assigned us something (or nothing)
  uint64_t rebalances = 0;   // rebalance callbacks served so far
  uint64_t batch_epoch = 0;  // `rebalances` when the last poll's records were consumed
  bool eager = false;
  bool closed = false;
  int wake_read = -1;
  int wake_write = -1;
  rd_kafka_resp_err_t rebalance_error = RD_KAFKA_RESP_ERR_NO_ERROR;

  // Assigned partitions no fetch response has reached since their assignment: their
  // cached high watermark may be from an earlier assignment (see progress()).
  std::vector<TopicPartition> unfetched;

  void mark_fetched(const rd_kafka_message_t* msg) {
    if (unfetched.empty() || msg->rkt == nullptr) return;  // the steady state: nothing to look up
    const char* topic = rd_kafka_topic_name(msg->rkt);
    std::erase_if(unfetched, [&](const TopicPartition& tp) {
      return tp.partition.value == msg->partition && tp.topic == topic;
    });
  }
  bool is_unfetched(const TopicPartition& tp) const {
    return std::find(unfetched.begin(), unfetched.end(), tp) != unfetched.end();
  }

  ~Impl() {
    if (queue != nullptr) rd_kafka_queue_destroy(queue);
    if (group_member && !ever_assigned) {
      // librdkafka 2.0's cooperative-sticky assignor asserts when a consumer that never
      // completed a rebalance is destroyed (librdkafka#4312) and aborts the process.
      // The consumer is closed already; its handle is left to the process's exit.
      log::debug("not destroying a consumer that was never assigned (librdkafka#4312)");
      (void)rk.release();
    }
    if (wake_read >= 0) ::close(wake_read);
    if (wake_write >= 0) ::close(wake_write);
  }

  static std::vector<TopicPartition> to_vector(const rd_kafka_topic_partition_list_t* list) {
    std::vector<TopicPartition> out;
    for (int i = 0; i < list->cnt; ++i) out.push_back({list->elems[i].topic, Partition{list->elems[i].partition}});
    return out;
  }

  static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* partitions, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    self->in_rebalance = true;
    ++self->rebalances;
    self->eager = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") != 0;
    try {
      const auto tps = to_vector(partitions);
      if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        log::info("assigned: {} partition(s) ({} protocol)", tps.size(), self->eager ? "eager" : "cooperative");
        self->assigned_in_callback = false;
        self->ever_assigned = true;
        self->listener->on_assigned(tps);
        if (!self->assigned_in_callback) {
          // The listener declined them (e.g. while closing): take them as they are,
          // so that librdkafka's view of the assignment stays consistent.
          rd_kafka_error_t* e = nullptr;
          if (self->eager) {
            rd_kafka_assign(rk, partitions);
          } else {
            e = rd_kafka_incremental_assign(rk, partitions);
          }
          if (e != nullptr) {
            log::error("incremental assign failed: {}", rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
          }
        }
      } else {
        const bool lost = rd_kafka_assignment_lost(rk);
        log::info("{}: {} partition(s)", lost ? "lost" : "revoked", tps.size());
        if (lost) {
          self->listener->on_lost(tps);
        } else {
          self->listener->on_revoked(tps);
        }
        rd_kafka_error_t* e = nullptr;
        if (self->eager) {
          rd_kafka_assign(rk, nullptr);
        } else {
          e = rd_kafka_incremental_unassign(rk, partitions);
        }
        if (e != nullptr) {
          log::error("incremental unassign failed: {}", rd_kafka_error_string(e));
          rd_kafka_error_destroy(e);
        }
      }
    } catch (...) {
      // Exceptions cannot cross librdkafka's C frames: park it for poll() to rethrow.
      self->pending = std::current_exception();
    }
    self->in_rebalance = false;
    // Return from the consume call now, before any record of the new assignment: the
    // records of one poll() then all belong to one assignment, with nothing held over.
    rd_kafka_yield(rk);
  }

  std::exception_ptr pending;
  std::vector<processor::CommitResult> commit_results;  // of commit_async, served by poll

  static void on_commit(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* offsets, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    processor::CommitResult result;
    if (err) result.error = rd_kafka_err2str(err);
    if (offsets != nullptr) {
      for (int i = 0; i < offsets->cnt; ++i) {
        const auto& e = offsets->elems[i];
        if (e.err && result.error.empty()) result.error = fmt::format("{}-{}: {}", e.topic, e.partition, rd_kafka_err2str(e.err));
        result.offsets.emplace_back(TopicPartition{e.topic, Partition{e.partition}}, Offset{e.offset});
      }
    }
    self->commit_results.push_back(std::move(result));
  }
};

KafkaConsumer::KafkaConsumer(const ClientProperties& overrides, const std::string& group_id,
                             RebalanceListener* listener, StatisticsCallback on_statistics)
    : impl_(std::make_unique<Impl>()) {
  impl_->listener = listener;
  impl_->on_statistics = std::move(on_statistics);
  impl_->group_member = listener != nullptr;
  ClientProperties props{
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "error"},
      {"allow.auto.create.topics", "false"},
      // Measured on the embedded broker: an empty fetch is held for the full wait, and
      // the default 100k queued-messages threshold stalls fetching for ~1 s at a time.
      {"fetch.wait.max.ms", "5"},
      {"queued.min.messages", "1000000"},
      // End-of-partition events tell that a fetch response arrived (see progress()).
      {"enable.partition.eof", "true"},
      // Small requests must not wait for a delayed ACK (as the Java client does).
      {"socket.nagle.disable", "true"},
  };
  if (!group_id.empty()) props.set("group.id", group_id);
  if (impl_->group_member) {
    props.set("partition.assignment.strategy", "cooperative-sticky");
    props.set("session.timeout.ms", "10000");
    props.set("heartbeat.interval.ms", "1000");
  }
  // librdkafka's default backoff (up to 10 s) makes recovery after a broker outage slow.
  props.set("reconnect.backoff.max.ms", "1000");
  props.merge(overrides);
  rd_kafka_conf_t* conf = detail::make_conf(props);
  rd_kafka_conf_set_opaque(conf, impl_.get());
  if (impl_->on_statistics) rd_kafka_conf_set_stats_cb(conf, &detail::forward_statistics<Impl>);
  if (impl_->group_member) {
    rd_kafka_conf_set_rebalance_cb(conf, &Impl::on_rebalance);
    rd_kafka_conf_set_offset_commit_cb(conf, &Impl::on_commit);
  }
  impl_->rk = detail::new_handle(RD_KAFKA_CONSUMER, conf);
  rd_kafka_poll_set_consumer(impl_->rk.get());
  impl_->queue = rd_kafka_queue_get_consumer(impl_->rk.get());

  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) throw FatalError("pipe2 failed");
  impl_->wake_read = fds[0];
  impl_->wake_write = fds[1];
  rd_kafka_queue_io_event_enable(impl_->queue, impl_->wake_write, "1", 1);
}

KafkaConsumer::~KafkaConsumer() {
  if (!impl_->closed) {
    try {
      close();
    } catch (const std::exception& e) {
      log::warn("consumer close: {}", e.what());
    }
  }
}

void KafkaConsumer::subscribe(const std::vector<std::string>& topics) {
  auto list = detail::new_list(static_cast<int>(topics.size()));
  for (const auto& t : topics) rd_kafka_topic_partition_list_add(list.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  if (auto err = rd_kafka_subscribe(impl_->rk.get(), list.get())) {
    throw FatalError("subscribe failed: " + detail::error_text(err));
  }
}

size_t KafkaConsumer::poll(std::vector<Record>& out, size_t max, int timeout_ms) {
  char drain[64];
  while (::read(impl_->wake_read, drain, sizeof drain) > 0) {
  }
  size_t n = 0;
  int wait = timeout_ms;
  impl_->batch_epoch = impl_->rebalances;
  while (n < max) {
    rd_kafka_message_t* msg = rd_kafka_consume_queue(impl_->queue, wait);
    if (impl_->pending) std::rethrow_exception(std::exchange(impl_->pending, nullptr));
    // A rebalance callback ends the consume call (it yields) before any record of the
    // new assignment: the records appended so far belong to the old one, and the
    // caller routes a batch to the tasks it has when it gets it. So the call ends here.
    if (impl_->rebalances != impl_->batch_epoch) {
      if (msg != nullptr) {
        // The callback yields, so no record can follow it within the call; were one to,
        // it could neither join this batch nor be dropped.
        rd_kafka_message_destroy(msg);
        throw FatalError("librdkafka returned a record after a rebalance callback in the same call");
      }
      if (n > 0) break;
      impl_->batch_epoch = impl_->rebalances;  // nothing of the old assignment: go on with the new
      wait = 0;
      continue;
    }
    if (msg == nullptr) break;
    wait = 0;
    impl_->mark_fetched(msg);
    if (msg->err) {
      const rd_kafka_resp_err_t err = msg->err;
      std::string where = msg->rkt != nullptr
                              ? fmt::format("{}-{}@{}", rd_kafka_topic_name(msg->rkt), msg->partition, msg->offset)
                              : std::string("consumer");
      std::string text = rd_kafka_message_errstr(msg);
      rd_kafka_message_destroy(msg);
      if (err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
      if (err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET || err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
        throw FatalError(fmt::format(
            "{}: offset out of range ({}): the log no longer holds records this application "
            "has not read; they were deleted (retention or the embedded broker's size cap) "
            "before being processed",
            where, text));
      }
      char fatal[512];
      if (rd_kafka_fatal_error(impl_->rk.get(), fatal, sizeof fatal)) {
        throw FatalError(std::string("consumer fatal error: ") + fatal);
      }
      log::warn("consumer: {}: {}", where, text);
      continue;
    }
    out.push_back(to_record(msg));
    ++n;
  }
  return n;
}

uint64_t KafkaConsumer::rebalance_count() const { return impl_->rebalances; }

uint64_t KafkaConsumer::last_batch_epoch() const { return impl_->batch_epoch; }

void KafkaConsumer::assign(const std::vector<std::pair<TopicPartition, std::optional<Offset>>>& partitions) {
  auto list = detail::new_list(static_cast<int>(partitions.size()));
  for (const auto& [tp, offset] : partitions) {
    auto* e = rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition.value);
    e->offset = offset ? offset->value : RD_KAFKA_OFFSET_BEGINNING;
  }
  for (const auto& [tp, offset] : partitions) {
    if (!impl_->is_unfetched(tp)) impl_->unfetched.push_back(tp);
  }
  impl_->assigned_in_callback = impl_->assigned_in_callback || impl_->in_rebalance;
  if (impl_->in_rebalance && impl_->eager) {
    if (auto err = rd_kafka_assign(impl_->rk.get(), list.get())) {
      throw FatalError("assign failed: " + detail::error_text(err));
    }
    return;
  }
  if (rd_kafka_error_t* e = rd_kafka_incremental_assign(impl_->rk.get(), list.get())) {
    std::string text = rd_kafka_error_string(e);
    rd_kafka_error_destroy(e);
    throw FatalError("incremental assign failed: " + text);
  }
}

void KafkaConsumer::unassign(const std::vector<TopicPartition>& partitions) {
  if (partitions.empty()) return;
  std::erase_if(impl_->unfetched, [&](const TopicPartition& tp) {
    return std::find(partitions.begin(), partitions.end(), tp) != partitions.end();
  });
  auto list = detail::new_list(static_cast<int>(partitions.size()));
  for (const auto& tp : partitions) rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition.value);
  if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(impl_->rk.get(), list.get())) {
    std::string text = rd_kafka_error_string(e);
    rd_kafka_error_destroy(e);
    throw FatalError("incremental unassign failed: " + text);
  }
}

namespace {
detail::PartitionList list_of(const std::vector<TopicPartition>& partitions) {
  auto list = detail::new_list(static_cast<int>(partitions.size()));
  for (const auto& tp : partitions) rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition.value);
  return list;
}
}  // namespace

void KafkaConsumer::pause(const std::vector<TopicPartition>& partitions) {
  if (partitions.empty()) return;
  auto list = list_of(partitions);
  rd_kafka_pause_partitions(impl_->rk.get(), list.get());
}

void KafkaConsumer::resume(const std::vector<TopicPartition>& partitions) {
  if (partitions.empty()) return;
  auto list = list_of(partitions);
  rd_kafka_resume_partitions(impl_->rk.get(), list.get());
  // librdkafka 2.0.2 does not wake the fetching broker thread on a resume: it notices at
  // its next idle wake-up, up to a second later, and until then every task just started
  // (they resume their input when restored) or relieved of back-pressure waits (measured:
  // 0.9-1.0 s after each task start). Any request to the partition's leader wakes its
  // thread, which then fetches every resumed partition: a ListOffsets request per leader,
  // for all the partitions at once. With timeout 0, rd_kafka_offsets_for_times sends
  // them and returns without waiting (the late replies are dropped). A watermark query
  // cannot do this: it waits for its reply whatever its timeout, a round trip per
  // partition (5 ms each on the embedded broker: 24 task starts took 0.13 s), and until
  // the request times out while the broker is unreachable.
  auto wake = list_of(partitions);
  for (int i = 0; i < wake->cnt; ++i) wake->elems[i].offset = RD_KAFKA_OFFSET_END;
  rd_kafka_offsets_for_times(impl_->rk.get(), wake.get(), 0);
}

void KafkaConsumer::commit(const std::vector<std::pair<TopicPartition, Offset>>& offsets) {
  if (offsets.empty()) return;
  auto list = detail::new_list(static_cast<int>(offsets.size()));
  for (const auto& [tp, offset] : offsets) {
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition.value)->offset = offset.value;
  }
  rd_kafka_resp_err_t err = rd_kafka_commit(impl_->rk.get(), list.get(), 0);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (int i = 0; i < list->cnt; ++i) {
      if (list->elems[i].err) {
        err = list->elems[i].err;
        break;
      }
    }
  }
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw RetriableError("offset commit failed: " + detail::error_text(err));
  }
}

void KafkaConsumer::commit_async(const std::vector<std::pair<TopicPartition, Offset>>& offsets) {
  if (offsets.empty()) return;
  auto list = detail::new_list(static_cast<int>(offsets.size()));
  for (const auto& [tp, offset] : offsets) {
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition.value)->offset = offset.value;
  }
  if (rd_kafka_resp_err_t err = rd_kafka_commit(impl_->rk.get(), list.get(), 1)) {
    impl_->commit_results.push_back({offsets, detail::error_text(err)});
  }
}

std::vector<processor::CommitResult> KafkaConsumer::take_commit_results() { return std::exchange(impl_->commit_results, {}); }

std::map<TopicPartition, Offset> KafkaConsumer::committed(const std::vector<TopicPartition>& partitions,
                                                          int timeout_ms) {
  std::map<TopicPartition, Offset> out;
  if (partitions.empty()) return out;
  auto list = list_of(partitions);
  if (auto err = rd_kafka_committed(impl_->rk.get(), list.get(), timeout_ms)) {
    throw RetriableError("reading committed offsets failed: " + detail::error_text(err));
  }
  for (int i = 0; i < list->cnt; ++i) {
    const auto& e = list->elems[i];
    if (e.err) throw RetriableError(fmt::format("committed offset of {}-{}: {}", e.topic, e.partition, rd_kafka_err2str(e.err)));
    if (e.offset >= 0) out[{e.topic, Partition{e.partition}}] = Offset{e.offset};
  }
  return out;
}

Watermarks KafkaConsumer::query_watermarks(const TopicPartition& tp, int timeout_ms) {
  int64_t low = 0, high = 0;
  if (auto err = rd_kafka_query_watermark_offsets(impl_->rk.get(), tp.topic.c_str(), tp.partition.value,
                                                  &low, &high, timeout_ms)) {
    throw RetriableError(fmt::format("watermarks of {}: {}", tp, detail::error_text(err)));
  }
  return {Offset{low}, Offset{high}};
}

std::map<TopicPartition, Watermarks> KafkaConsumer::query_watermarks(const std::vector<TopicPartition>& partitions,
                                                                     int timeout_ms) {
  std::map<TopicPartition, Watermarks> out;
  if (partitions.empty()) return out;
  // ListOffsets takes the log start (-2) and the log end (-1) in place of a timestamp,
  // as rd_kafka_query_watermark_offsets sends them, but for every partition at once.
  // The log end is read_committed's last stable offset under that isolation level,
  // as with the single query.
  for (const int64_t which : {RD_KAFKA_OFFSET_BEGINNING, RD_KAFKA_OFFSET_END}) {
    auto list = detail::new_list(static_cast<int>(partitions.size()));
    for (const auto& tp : partitions) {
      rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition.value)->offset = which;
    }
    if (auto err = rd_kafka_offsets_for_times(impl_->rk.get(), list.get(), timeout_ms)) {
      throw RetriableError(fmt::format("watermarks of {} partitions: {}", partitions.size(), detail::error_text(err)));
    }
    for (int i = 0; i < list->cnt; ++i) {
      const auto& e = list->elems[i];
      const TopicPartition tp{e.topic, Partition{e.partition}};
      if (e.err || e.offset < 0) {
        throw RetriableError(fmt::format("watermarks of {}: {}", tp,
                                         e.err ? detail::error_text(e.err) : std::string("no offset returned")));
      }
      (which == RD_KAFKA_OFFSET_BEGINNING ? out[tp].low : out[tp].high) = Offset{e.offset};
    }
  }
  for (const auto& tp : partitions) {
    if (!out.contains(tp)) throw RetriableError(fmt::format("watermarks of {}: not returned", tp));
  }
  return out;
}

std::map<TopicPartition, std::optional<Offset>> KafkaConsumer::offsets_for_times(
    const std::vector<TopicPartition>& partitions, int64_t timestamp_ms, int timeout_ms) {
  auto list = detail::new_list(static_cast<int>(partitions.size()));
  for (const auto& tp : partitions) {
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition.value)->offset = timestamp_ms;
  }
  if (auto err = rd_kafka_offsets_for_times(impl_->rk.get(), list.get(), timeout_ms)) {
    throw RetriableError(fmt::format("offsets for time {}: {}", timestamp_ms, detail::error_text(err)));
  }
  std::map<TopicPartition, std::optional<Offset>> out;
  for (int i = 0; i < list->cnt; ++i) {
    const auto& e = list->elems[i];
    const TopicPartition tp{e.topic, Partition{e.partition}};
    if (e.err) throw RetriableError(fmt::format("offset for time {} of {}: {}", timestamp_ms, tp, detail::error_text(e.err)));
    out[tp] = e.offset >= 0 ? std::optional<Offset>(Offset{e.offset}) : std::nullopt;
  }
  return out;
}

std::optional<Offset> KafkaConsumer::cached_high_watermark(const TopicPartition& tp) {
  if (impl_->is_unfetched(tp)) return std::nullopt;
  int64_t low = 0, high = 0;
  if (rd_kafka_get_watermark_offsets(impl_->rk.get(), tp.topic.c_str(), tp.partition.value, &low, &high) ||
      high < 0) {
    return std::nullopt;
  }
  return Offset{high};
}

processor::SourceProgress KafkaConsumer::progress(const TopicPartition& tp, Offset next) {
  // librdkafka keeps a partition's last high watermark across reassignments: one from
  // before this assignment would call a log caught up that has grown since.
  if (impl_->is_unfetched(tp)) return processor::SourceProgress::kUnknown;
  int64_t low = -1, high = -1;
  if (rd_kafka_get_watermark_offsets(impl_->rk.get(), tp.topic.c_str(), tp.partition.value, &low, &high) ||
      high < 0) {
    return processor::SourceProgress::kUnknown;
  }
  return next.value >= high ? processor::SourceProgress::kCaughtUp : processor::SourceProgress::kBehind;
}

std::optional<Offset> KafkaConsumer::position(const TopicPartition& tp) {
  auto list = list_of({tp});
  if (rd_kafka_position(impl_->rk.get(), list.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) return std::nullopt;
  const int64_t offset = list->elems[0].offset;
  if (offset < 0) return std::nullopt;  // not fetched yet
  return Offset{offset};
}

std::map<std::string, int32_t> KafkaConsumer::topic_partitions(int timeout_ms) {
  const rd_kafka_metadata_t* md = nullptr;
  if (auto err = rd_kafka_metadata(impl_->rk.get(), 1, nullptr, &md, timeout_ms)) {
    throw RetriableError("metadata request failed: " + detail::error_text(err));
  }
  std::map<std::string, int32_t> out;
  for (int i = 0; i < md->topic_cnt; ++i) {
    if (md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR) out[md->topics[i].topic] = md->topics[i].partition_cnt;
  }
  rd_kafka_metadata_destroy(md);
  return out;
}

int KafkaConsumer::wakeup_fd() const { return impl_->wake_read; }

std::optional<std::string_view> message_header(const Record& record, std::string_view name) {
  auto* msg = static_cast<rd_kafka_message_t*>(record.storage.get());
  if (msg == nullptr) return std::nullopt;
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(msg, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR) return std::nullopt;
  const std::string key(name);
  const void* value = nullptr;
  size_t size = 0;
  if (rd_kafka_header_get_last(headers, key.c_str(), &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR) return std::nullopt;
  return std::string_view(static_cast<const char*>(value), size);
}

void KafkaConsumer::seek(const std::vector<std::pair<TopicPartition, Offset>>& positions) {
  if (positions.empty()) return;
  auto list = detail::new_list(static_cast<int>(positions.size()));
  for (const auto& [tp, offset] : positions) {
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition.value)->offset = offset.value;
  }
  if (rd_kafka_error_t* e = rd_kafka_seek_partitions(impl_->rk.get(), list.get(), 10'000)) {
    std::string text = rd_kafka_error_string(e);
    rd_kafka_error_destroy(e);
    throw RetriableError("seek failed: " + text);
  }
  for (int i = 0; i < list->cnt; ++i) {
    if (list->elems[i].err) {
      throw RetriableError(fmt::format("seek of {}-{} failed: {}", list->elems[i].topic, list->elems[i].partition,
                                       rd_kafka_err2str(list->elems[i].err)));
    }
  }
}

void* KafkaConsumer::native_handle() const { return impl_->rk.get(); }

void KafkaConsumer::close(int timeout_ms) {
  if (impl_->closed) return;
  if (impl_->group_member) {
    if (auto err = rd_kafka_unsubscribe(impl_->rk.get())) {
      log::warn("unsubscribe: {}", detail::error_text(err));
    } else {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
      std::vector<Record> dropped;
      for (;;) {
        rd_kafka_topic_partition_list_t* assignment = nullptr;
        const bool empty = rd_kafka_assignment(impl_->rk.get(), &assignment) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                           assignment->cnt == 0;
        if (assignment != nullptr) rd_kafka_topic_partition_list_destroy(assignment);
        if (empty && !impl_->in_rebalance) break;
        if (std::chrono::steady_clock::now() > deadline) {
          log::warn("still assigned partitions {} ms after unsubscribing; closing anyway", timeout_ms);
          break;
        }
        dropped.clear();
        poll(dropped, 1000, 50);  // serves the revoke; records are not processed any more
      }
    }
  }
  impl_->closed = true;
  rd_kafka_resp_err_t err = rd_kafka_consumer_close(impl_->rk.get());
  if (impl_->pending) std::rethrow_exception(std::exchange(impl_->pending, nullptr));
  if (err) log::warn("consumer close: {}", detail::error_text(err));
}

}  // namespace couponflow::kafka
