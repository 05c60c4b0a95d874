#include "ops/verify/verify.h"

#include <fmt/format.h>

#include "processor/kafka/topic_reader.h"

namespace couponflow::ops {

VerifyReport verify_topics(const kafka::ClientProperties& client, const coupon::CouponTopics& topics) {
  std::vector<kafka::ReadRecord> catalog, requests;
  auto info = kafka::read_topics(client, {topics.catalog, topics.issuance}, [&](kafka::ReadRecord&& r) {
    (r.topic == topics.catalog ? catalog : requests).push_back(std::move(r));
  });
  int32_t partitions = 0;
  for (const auto& i : info) {
    if (i.topic == topics.issuance) ++partitions;
  }
  InvariantChecker checker(topics.issuance, partitions);
  // Catalog before requests: definitions are looked up by coupon, order per coupon kept.
  for (const auto& r : catalog) checker.add_catalog(r);
  for (const auto& r : requests) checker.add_request(r);
  catalog.clear();
  requests.clear();
  // Outputs are read after the inputs, so every output of an input read is visible.
  auto out_info = kafka::read_topics(client, {topics.issued, topics.rejected, topics.dlq}, [&](kafka::ReadRecord&& r) {
    if (r.topic == topics.dlq) {
      checker.add_dlq(r);
    } else {
      checker.add_result(r);
    }
  });
  info.insert(info.end(), out_info.begin(), out_info.end());
  for (const auto& i : info) {
    if (i.low.value > 0) checker.add_truncated(i);
  }
  return checker.check();
}

std::string format_report(const VerifyReport& report, size_t max_coupon_rows) {
  std::string out;
  auto it = std::back_inserter(out);
  fmt::format_to(it, "requests {}  results {} (replayed duplicates {})  DLQ {}\n", report.requests,
                 report.results, report.duplicate_results, report.dlq_entries);
  if (!report.dlq_by_reason.empty()) {
    out += "DLQ by reason:";
    for (const auto& [reason, n] : report.dlq_by_reason) fmt::format_to(it, " {}={}", reason, n);
    out += '\n';
  }
  const std::vector<std::string> reasons{"SOLD_OUT", "ALREADY_ISSUED", "UNKNOWN_COUPON", "NOT_OPEN", "CLOSED"};
  fmt::format_to(it, "{:<22} {:>9} {:>8} {:>9} {:>9} {:>8} {:>8} {:>8}\n", "coupon", "capacity", "issued", "sold_out",
                 "already", "unknown", "not_open", "closed");
  size_t rows = 0;
  for (const auto& [id, c] : report.coupons) {
    if (rows++ == max_coupon_rows) {
      fmt::format_to(it, "... {} more coupons\n", report.coupons.size() - max_coupon_rows);
      break;
    }
    auto n = [&](const std::string& r) {
      auto f = c.rejected.find(r);
      return f == c.rejected.end() ? int64_t{0} : f->second;
    };
    fmt::format_to(it, "{:<22} {:>9} {:>8} {:>9} {:>9} {:>8} {:>8} {:>8}{}\n", id, c.max_capacity, c.accepted,
                   n(reasons[0]), n(reasons[1]), n(reasons[2]), n(reasons[3]), n(reasons[4]),
                   c.fixed_catalog ? "" : "  (catalog changed)");
  }
  for (const auto& v : report.violations) fmt::format_to(it, "VIOLATION {}: {}\n", v.invariant, v.detail);
  if (report.violation_count > static_cast<int64_t>(report.violations.size())) {
    fmt::format_to(it, "... {} violations in all\n", report.violation_count);
  }
  fmt::format_to(it, "verify: {}\n",
                 report.ok() ? "PASS (I1-I5 hold)" : fmt::format("FAIL ({} violations)", report.violation_count));
  return out;
}

}  // namespace couponflow::ops
