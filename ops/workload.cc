#include "ops/workload.h"

#include <chrono>
#include <map>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "common/clock.h"
#include "common/murmur2.h"
#include "processor/kafka/topic_reader.h"
#include "topology/coupon/request.h"

namespace couponflow::ops {

std::vector<CatalogEntry> balanced_catalog(int partitions, int per_partition, const std::string& prefix,
                                           const std::vector<int64_t>& capacities) {
  std::vector<int> count(static_cast<size_t>(partitions), 0);
  std::vector<CatalogEntry> out;
  for (int n = 1; static_cast<int>(out.size()) < per_partition * partitions; ++n) {
    std::string id = fmt::format("{}-{:03}", prefix, n);
    auto& c = count[static_cast<size_t>(murmur2_partition(id, partitions).value)];
    if (c == per_partition) continue;
    ++c;
    out.push_back({id, {capacities[out.size() % capacities.size()], {}, {}}});
  }
  return out;
}

void publish_catalog(kafka::KafkaProducer& producer, const std::string& topic,
                     const std::vector<CatalogEntry>& coupons) {
  const EpochMillis now = SystemClock().now_ms();
  for (const auto& c : coupons) {
    producer.send(topic, std::nullopt, Message{c.id, coupon::catalog_json(c.id, c.definition), now, {}});
  }
  producer.flush(30'000);
}

std::vector<CatalogEntry> read_catalog(const kafka::ClientProperties& client, const std::string& topic) {
  std::map<std::string, std::optional<coupon::CouponDefinition>> latest;
  const int32_t partitions = kafka::list_topics(client).at(topic);
  kafka::read_topics(client, {topic}, [&](kafka::ReadRecord&& r) {
    // The processor's rules: a record that is not a definition leaves the coupon as it was.
    const auto change = coupon::read_catalog_record(r.key, r.value, {r.partition, partitions});
    switch (change.kind) {
      case coupon::CatalogChange::Kind::kDefine: latest[*r.key] = change.definition; break;
      case coupon::CatalogChange::Kind::kDelete: latest[*r.key] = std::nullopt; break;
      case coupon::CatalogChange::Kind::kSkip: break;
    }
  });
  std::vector<CatalogEntry> out;
  for (const auto& [id, d] : latest) {
    if (d) out.push_back({id, *d});
  }
  return out;
}

std::vector<PlannedRecord> plan_requests(const std::vector<CatalogEntry>& coupons, int64_t first, int64_t count,
                                         const RequestMix& mix) {
  std::mt19937_64 rng(mix.seed);
  std::uniform_real_distribution<double> share(0.0, 1.0);
  const EpochMillis now = SystemClock().now_ms();
  std::vector<PlannedRecord> out;
  out.reserve(static_cast<size_t>(count + count / 20 + 32));
  for (int64_t i = first; i < first + count; ++i) {
    const auto& c = coupons.size() == 1 || share(rng) < mix.hot_share ? coupons[0]
                                                                      : coupons[1 + rng() % (coupons.size() - 1)];
    const std::string user = fmt::format("user-{}", rng() % static_cast<uint64_t>(mix.users));
    out.push_back({c.id, coupon::request_json(fmt::format("{}{}", mix.id_prefix, i), c.id, user, now), i});
    if (share(rng) < mix.resend_share) out.push_back(out.back());
  }
  if (mix.undecidable && coupons.size() > 3) {
    const std::string& id = coupons[3].id;
    const std::vector<std::pair<std::optional<std::string>, std::string>> bad{
        {id, "this is not JSON"},
        {id, R"({"couponId":")" + id + R"("})"},
        {id, R"({"couponId":")" + id + R"(","userId":42})"},
        {id, R"([1,2,3])"},
        {"wrong-key", R"({"couponId":")" + id + R"(","userId":"u"})"},
        {std::nullopt, R"({"couponId":")" + id + R"(","userId":"u"})"},
    };
    for (int round = 0; round < 4; ++round) {
      for (const auto& [key, value] : bad) {
        const auto at = static_cast<std::ptrdiff_t>(rng() % out.size());
        out.insert(out.begin() + at, PlannedRecord{key, value, -1});
      }
    }
  }
  return out;
}

int64_t send_records(kafka::KafkaProducer& producer, const std::string& topic,
                     const std::vector<PlannedRecord>& records, int64_t rate, const std::atomic<bool>& stop,
                     std::atomic<int64_t>& sent, const std::function<void(int64_t)>& on_send) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const SystemClock clock;
  int64_t n = 0;
  for (const auto& r : records) {
    if (stop.load()) break;
    if (rate > 0) std::this_thread::sleep_until(start + std::chrono::nanoseconds(n * 1'000'000'000 / rate));
    if (on_send && r.request_index >= 0) on_send(r.request_index);
    producer.send(topic, std::nullopt, Message{r.key, r.value, clock.now_ms(), {}});
    ++n;
    sent.fetch_add(1, std::memory_order_relaxed);
    if (rate > 0) producer.poll();
  }
  return n;
}

}  // namespace couponflow::ops
