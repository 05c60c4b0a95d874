#include "ops/verify/verify.h"

#include <fmt/format.h>

#include <set>

#include "common/errors.h"
#include "processor/kafka/kafka_admin.h"
#include "processor/kafka/topic_reader.h"
#include "state/store_spec.h"
#include "topology/coupon/issued_state.h"

namespace couponflow::ops {

namespace {

/// Those of `topics` whose cleanup.policy includes compact, as far as the cluster says:
/// none where it has no Admin API (the embedded broker) or does not answer, so that
/// their truncation counts as lost records.
std::set<std::string> compacted_among(const kafka::ClientProperties& client, const std::vector<std::string>& topics) {
  std::set<std::string> compacted;
  if (topics.empty()) return compacted;
  try {
    kafka::KafkaAdmin admin(client, 3'000);
    if (!admin.supported()) return compacted;
    for (const auto& [name, d] : admin.describe_topics(topics)) {
      auto policy = d.configs.find("cleanup.policy");
      if (policy != d.configs.end() && policy->second.find("compact") != std::string::npos) compacted.insert(name);
    }
  } catch (const std::exception&) {
    compacted.clear();  // unknown: nothing is assumed compacted
  }
  return compacted;
}

}  // namespace

VerifyReport verify_topics(const kafka::ClientProperties& client, const coupon::CouponTopics& topics,
                           const std::string& application_id, std::atomic<uint64_t>* records_read) {
  auto counted = [records_read] {
    if (records_read != nullptr) records_read->fetch_add(1, std::memory_order_relaxed);
  };
  const auto counts = kafka::list_topics(client);
  for (const auto* t : {&topics.issuance, &topics.catalog, &topics.issued, &topics.rejected, &topics.dlq}) {
    if (!counts.contains(*t)) throw FatalError("topic " + *t + " does not exist");
  }
  std::vector<kafka::ReadRecord> catalog, requests;
  auto info = kafka::read_topics(client, {topics.catalog, topics.issuance}, [&](kafka::ReadRecord&& r) {
    counted();
    (r.topic == topics.catalog ? catalog : requests).push_back(std::move(r));
  });
  InvariantChecker checker(topics.issuance, counts.at(topics.issuance));
  // Catalog before requests: definitions are looked up by coupon, order per coupon kept.
  for (const auto& r : catalog) checker.add_catalog(r);
  for (const auto& r : requests) checker.add_request(r);
  catalog.clear();
  requests.clear();
  // Outputs are read after the inputs, so every output of an input read is visible.
  auto out_info = kafka::read_topics(client, {topics.issued, topics.rejected, topics.dlq}, [&](kafka::ReadRecord&& r) {
    counted();
    if (r.topic == topics.dlq) {
      checker.add_dlq(r);
    } else {
      checker.add_result(r);
    }
  });
  info.insert(info.end(), out_info.begin(), out_info.end());
  // Then the state that decided them (its records are sent before the results).
  const std::string changelog = state::changelog_topic(application_id, coupon::issued_store_spec());
  if (counts.contains(changelog)) {
    auto changelog_info = kafka::read_topics(client, {changelog}, [&](kafka::ReadRecord&& r) {
      counted();
      checker.add_holding(r);
    });
    info.insert(info.end(), changelog_info.begin(), changelog_info.end());
  }

  // A log that no longer starts at 0 lost records, unless compaction removed them
  // (only superseded values: nothing verify needs).
  std::vector<std::string> truncated_topics;
  for (const auto& i : info) {
    if (i.low.value > 0 && std::find(truncated_topics.begin(), truncated_topics.end(), i.topic) == truncated_topics.end()) {
      truncated_topics.push_back(i.topic);
    }
  }
  const auto compacted = compacted_among(client, truncated_topics);
  for (const auto& i : info) {
    if (i.low.value == 0 || compacted.contains(i.topic)) continue;
    TopicRole role = TopicRole::kChangelog;
    if (i.topic == topics.issuance) role = TopicRole::kRequests;
    if (i.topic == topics.catalog) role = TopicRole::kCatalog;
    if (i.topic == topics.issued || i.topic == topics.rejected) role = TopicRole::kResults;
    if (i.topic == topics.dlq) role = TopicRole::kDlq;
    checker.add_truncated(role, i, counts.at(i.topic));
  }
  return checker.check();
}

}  // namespace couponflow::ops
