#include "ops/verify/verify.h"

#include <fmt/format.h>

#include "common/errors.h"
#include "processor/kafka/topic_reader.h"
#include "state/store_spec.h"
#include "topology/coupon/issued_state.h"
#include "topology/coupon/json_object.h"

namespace couponflow::ops {

VerifyReport verify_topics(const kafka::ClientProperties& client, const coupon::CouponTopics& topics,
                           const std::string& application_id) {
  const auto counts = kafka::list_topics(client);
  for (const auto* t : {&topics.issuance, &topics.catalog, &topics.issued, &topics.rejected, &topics.dlq}) {
    if (!counts.contains(*t)) throw FatalError("topic " + *t + " does not exist");
  }
  std::vector<kafka::ReadRecord> catalog, requests;
  auto info = kafka::read_topics(client, {topics.catalog, topics.issuance}, [&](kafka::ReadRecord&& r) {
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
    auto changelog_info = kafka::read_topics(client, {changelog}, [&](kafka::ReadRecord&& r) { checker.add_holding(r); });
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
  const auto compacted = kafka::compacted_topics(client, truncated_topics).value_or(std::set<std::string>{});
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

int exit_code(Verdict verdict) {
  switch (verdict) {
    case Verdict::kPass: return 0;
    case Verdict::kFail: return 1;
    case Verdict::kCannotVerify: return 3;
  }
  return 1;
}

std::string format_report(const VerifyReport& report, size_t max_coupon_rows) {
  std::string out;
  auto it = std::back_inserter(out);
  fmt::format_to(it, "requests {}  results {} (replayed duplicates {})  DLQ {}", report.requests, report.results,
                 report.duplicate_results, report.dlq_entries);
  if (report.holdings >= 0) fmt::format_to(it, "  holdings in the changelog {}", report.holdings);
  out += '\n';
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
  for (const auto& u : report.unverifiable) fmt::format_to(it, "CANNOT VERIFY: {}\n", u);
  switch (report.verdict()) {
    case Verdict::kPass: out += "verify: PASS (I1-I5 hold)\n"; break;
    case Verdict::kFail: fmt::format_to(it, "verify: FAIL ({} violations)\n", report.violation_count); break;
    case Verdict::kCannotVerify:
      out += "verify: CANNOT VERIFY (records it needs are gone; no violation is proven by what remains)\n";
      break;
  }
  return out;
}

std::string format_report_json(const VerifyReport& report) {
  using coupon::append_json_string;
  std::string out;
  auto it = std::back_inserter(out);
  out += "{\"verdict\":";
  append_json_string(out, to_string(report.verdict()));
  fmt::format_to(it, ",\"requests\":{},\"results\":{},\"duplicates\":{},\"dlq\":{},\"violations\":{},\"samples\":[",
                 report.requests, report.results, report.duplicate_results, report.dlq_entries,
                 report.violation_count);
  for (size_t i = 0; i < report.violations.size(); ++i) {
    out += i ? ",{\"invariant\":" : "{\"invariant\":";
    append_json_string(out, report.violations[i].invariant);
    out += ",\"message\":";
    append_json_string(out, report.violations[i].detail);
    out += '}';
  }
  out += ']';
  if (report.verdict() == Verdict::kCannotVerify) {
    std::string reason;
    for (const auto& u : report.unverifiable) reason += (reason.empty() ? "" : "; ") + u;
    out += ",\"reason\":";
    append_json_string(out, reason);
  }
  out += "}\n";
  return out;
}

std::string cannot_read_json(const std::string& reason) {
  std::string out = R"({"verdict":"cannot_verify","requests":0,"results":0,"duplicates":0,"dlq":0,"violations":0,)"
                    R"("samples":[],"reason":)";
  coupon::append_json_string(out, reason);
  out += "}\n";
  return out;
}

}  // namespace couponflow::ops
