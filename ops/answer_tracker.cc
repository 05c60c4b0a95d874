#include "ops/answer_tracker.h"

#include "common/parse_number.h"
#include "topology/dead_letter.h"

#include <algorithm>
#include <chrono>

#include "processor/kafka/kafka_consumer.h"
#include "topology/coupon/request.h"
#include "topology/coupon/result.h"

namespace couponflow::ops {
namespace {
int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
uint64_t position_key(int64_t partition, int64_t offset) {
  return (static_cast<uint64_t>(partition) << 44) ^ static_cast<uint64_t>(offset);
}
}  // namespace

int64_t percentile(const std::vector<int64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  const auto i = static_cast<size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

AnswerTracker::AnswerTracker(const kafka::ClientProperties& client, const coupon::CouponTopics& topics,
                             int partitions, std::string id_prefix, size_t max_requests)
    : prefix_(std::move(id_prefix)), sent_ns_(max_requests), latency_us_(max_requests, -1) {
  thread_ = std::thread([this, client, topics, partitions] { run(client, topics, partitions); });
}

AnswerTracker::~AnswerTracker() { stop(); }

void AnswerTracker::mark_sent(int64_t index) {
  if (index < 0 || static_cast<size_t>(index) >= sent_ns_.size()) return;
  int64_t expected = 0;
  sent_ns_[static_cast<size_t>(index)].compare_exchange_strong(expected, now_ns());
}

void AnswerTracker::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void AnswerTracker::run(const kafka::ClientProperties& client, const coupon::CouponTopics& topics, int partitions) {
  kafka::KafkaConsumer consumer(client, "couponflow-answer-tracker", nullptr);
  std::vector<std::pair<TopicPartition, std::optional<Offset>>> assignment;
  for (const auto* topic : {&topics.issued, &topics.rejected, &topics.dlq}) {
    for (int p = 0; p < partitions; ++p) assignment.push_back({{*topic, Partition{p}}, Offset{0}});
  }
  consumer.assign(assignment);
  std::vector<Record> batch;
  std::string error;
  coupon::RequestParser request_parser;
  coupon::CouponRequest echoed;
  while (!stop_.load()) {
    batch.clear();
    consumer.poll(batch, 10'000, 20);
    const int64_t t = now_ns();
    std::lock_guard lock(mutex_);
    for (const auto& r : batch) {
      if (r.topic == topics.dlq) {
        // The DLQ entry names the request record it answers in its headers.
        auto p = kafka::message_header(r, topology::dlq_header::kSourcePartition);
        auto o = kafka::message_header(r, topology::dlq_header::kSourceOffset);
        const auto partition = parse_number<int32_t>(p);
        const auto offset = parse_number<int64_t>(o);
        if (partition && offset && positions_.insert(position_key(*partition, *offset)).second) {
          ++answered_;
        }
        continue;
      }
      auto result = coupon::parse_result(r.value.value_or(""), error);
      std::string_view request_id;
      if (result) {
        if (positions_.insert(position_key(result->partition, result->offset)).second) ++answered_;
        request_id = result->request_id;
      } else if (!request_parser.parse(r.value.value_or(""), echoed)) {
        // A request copied unchanged to a result topic: a passthrough's answer
        // (bench/latency_bench.cc). It names no source position; its own one counts.
        if (echo_positions_.insert(position_key(r.partition.value, r.offset.value)).second) ++answered_;
        request_id = echoed.request_id;
      } else {
        continue;
      }
      if (request_id.rfind(prefix_, 0) != 0) continue;
      const auto index = std::strtoll(std::string(request_id.substr(prefix_.size())).c_str(), nullptr, 10);
      if (index < 0 || static_cast<size_t>(index) >= latency_us_.size()) continue;
      auto& l = latency_us_[static_cast<size_t>(index)];
      const int64_t sent = sent_ns_[static_cast<size_t>(index)].load();
      if (l < 0 && sent > 0) l = (t - sent) / 1000;
    }
  }
}

std::vector<int64_t> AnswerTracker::latencies_us(int64_t from, int64_t to) const {
  std::lock_guard lock(mutex_);
  std::vector<int64_t> out;
  for (auto i = std::max<int64_t>(0, from); i < to && static_cast<size_t>(i) < latency_us_.size(); ++i) {
    if (latency_us_[static_cast<size_t>(i)] >= 0) out.push_back(latency_us_[static_cast<size_t>(i)]);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace couponflow::ops
