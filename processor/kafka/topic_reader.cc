#include "processor/kafka/topic_reader.h"

#include <chrono>
#include <map>

#include "processor/kafka/rdkafka_util.h"

namespace couponflow::kafka {

namespace {
ClientProperties reader_properties(const ClientProperties& props) {
  ClientProperties p{{"enable.auto.commit", "false"},
                     {"auto.offset.reset", "error"},
                     {"allow.auto.create.topics", "false"},
                     {"fetch.wait.max.ms", "5"},
                     {"queued.min.messages", "1000000"},
                     {"group.id", "couponflow-topic-reader"}};
  p.merge(props);
  return p;
}

std::map<std::string, int32_t> partition_counts(rd_kafka_t* rk) {
  const rd_kafka_metadata_t* md = nullptr;
  if (auto err = rd_kafka_metadata(rk, 1, nullptr, &md, 10000)) {
    throw FatalError("cannot read cluster metadata: " + detail::error_text(err));
  }
  std::map<std::string, int32_t> counts;
  for (int i = 0; i < md->topic_cnt; ++i) {
    if (!md->topics[i].err) counts[md->topics[i].topic] = md->topics[i].partition_cnt;
  }
  rd_kafka_metadata_destroy(md);
  return counts;
}
}  // namespace

std::map<std::string, int32_t> list_topics(const ClientProperties& props) {
  detail::Handle rk = detail::new_handle(RD_KAFKA_CONSUMER, detail::make_conf(reader_properties(props)));
  return partition_counts(rk.get());
}

std::vector<TopicSnapshotInfo> read_topics(const ClientProperties& props,
                                           const std::vector<std::string>& topics,
                                           const std::function<void(ReadRecord&&)>& fn) {
  detail::Handle rk = detail::new_handle(RD_KAFKA_CONSUMER, detail::make_conf(reader_properties(props)));
  const auto counts = partition_counts(rk.get());

  std::vector<TopicSnapshotInfo> info;
  auto assignment = detail::new_list();
  std::map<std::pair<std::string, int32_t>, int64_t> remaining_end;
  for (const auto& topic : topics) {
    auto it = counts.find(topic);
    if (it == counts.end()) throw FatalError("topic " + topic + " does not exist");
    for (int32_t part = 0; part < it->second; ++part) {
      int64_t low = 0, high = 0;
      if (auto err = rd_kafka_query_watermark_offsets(rk.get(), topic.c_str(), part, &low, &high, 10000)) {
        throw FatalError(fmt::format("watermarks of {}-{}: {}", topic, part, detail::error_text(err)));
      }
      info.push_back({topic, Partition{part}, Offset{low}, Offset{high}});
      if (high > low) {
        rd_kafka_topic_partition_list_add(assignment.get(), topic.c_str(), part)->offset = low;
        remaining_end[{topic, part}] = high;
      }
    }
  }
  if (remaining_end.empty()) return info;
  if (auto err = rd_kafka_assign(rk.get(), assignment.get())) {
    throw FatalError("assign failed: " + detail::error_text(err));
  }
  auto last_progress = std::chrono::steady_clock::now();
  while (!remaining_end.empty()) {
    rd_kafka_message_t* msg = rd_kafka_consumer_poll(rk.get(), 100);
    if (msg == nullptr) {
      // Offsets without a record (transaction markers, compacted gaps) are never
      // delivered: a partition is also done when its fetch position passed the end.
      auto positions = detail::new_list();
      for (const auto& [tp, end] : remaining_end) {
        rd_kafka_topic_partition_list_add(positions.get(), tp.first.c_str(), tp.second);
      }
      if (rd_kafka_position(rk.get(), positions.get()) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int i = 0; i < positions->cnt; ++i) {
          const auto& e = positions->elems[i];
          auto it = remaining_end.find({e.topic, e.partition});
          if (e.offset >= 0 && it != remaining_end.end() && e.offset >= it->second) remaining_end.erase(it);
        }
      }
      if (std::chrono::steady_clock::now() - last_progress > std::chrono::seconds(30)) {
        throw FatalError("reading topics made no progress for 30 s");
      }
      continue;
    }
    last_progress = std::chrono::steady_clock::now();
    if (msg->err) {
      std::string text = rd_kafka_message_errstr(msg);
      if (msg->rkt != nullptr) {
        text = fmt::format("{}-{}@{}: {}", rd_kafka_topic_name(msg->rkt), msg->partition, msg->offset, text);
      }
      rd_kafka_message_destroy(msg);
      throw FatalError("reading topics failed: " + text);
    }
    const std::pair<std::string, int32_t> key{rd_kafka_topic_name(msg->rkt), msg->partition};
    auto end = remaining_end.find(key);
    if (end == remaining_end.end() || msg->offset >= end->second) {
      rd_kafka_message_destroy(msg);
      continue;
    }
    ReadRecord r;
    r.topic = key.first;
    r.partition = Partition{msg->partition};
    r.offset = Offset{msg->offset};
    r.timestamp = rd_kafka_message_timestamp(msg, nullptr);
    if (msg->key) r.key.emplace(static_cast<const char*>(msg->key), msg->key_len);
    if (msg->payload) r.value.emplace(static_cast<const char*>(msg->payload), msg->len);
    rd_kafka_headers_t* headers = nullptr;
    if (rd_kafka_message_headers(msg, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* name;
      const void* value;
      size_t size;
      for (size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
        r.headers.emplace_back(name, value ? std::string(static_cast<const char*>(value), size) : std::string());
      }
    }
    if (msg->offset + 1 >= end->second) remaining_end.erase(end);
    rd_kafka_message_destroy(msg);
    fn(std::move(r));
  }
  rd_kafka_consumer_close(rk.get());
  return info;
}

}  // namespace couponflow::kafka
