#include "ops/verify/report.h"

#include <fmt/format.h>

#include "topology/coupon/json_object.h"

namespace couponflow::ops {

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
  for (const auto& [id, summary] : report.coupons) {
    const CouponSummary& c = summary;  // a lambda cannot capture a structured binding (C++20, clang)
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
  using couponflow::append_json_string;
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
  append_json_string(out, reason);
  out += "}\n";
  return out;
}

}  // namespace couponflow::ops
