#include "ops/verify/invariant_checker.h"

#include <set>

#include <fmt/format.h>

#include "common/murmur2.h"
#include "topology/coupon/catalog.h"
#include "topology/coupon/request.h"
#include "topology/coupon/result.h"

namespace couponflow::ops {

namespace {
constexpr size_t kMaxListedPerInvariant = 10;
}

InvariantChecker::InvariantChecker(std::string issuance_topic, int32_t issuance_partitions)
    : issuance_topic_(std::move(issuance_topic)), partitions_(issuance_partitions) {}

void InvariantChecker::add_catalog(const kafka::ReadRecord& record) {
  // The contract's rules: a record that is not a definition is skipped by the processor.
  const auto change = coupon::read_catalog_record(record.key, record.value, {record.partition, partitions_});
  if (change.kind == coupon::CatalogChange::Kind::kSkip) return;
  Definition d{record.timestamp, record.value};
  if (change.kind == coupon::CatalogChange::Kind::kDefine) {
    d.capacity = change.definition.capacity;
    d.opens_at = change.definition.opens_at;
    d.closes_at = change.definition.closes_at;
  }
  catalog_[*record.key].push_back(std::move(d));
}

void InvariantChecker::add_request(const kafka::ReadRecord& record) {
  Request r;
  r.timestamp = record.timestamp;
  coupon::RequestParser parser;
  coupon::CouponRequest parsed;
  if (record.value && !parser.parse(*record.value, parsed)) {
    r.parsed = true;
    r.coupon_id = parsed.coupon_id;
    r.user_id = parsed.user_id;
    r.identity = parsed.request_id.empty() ? fmt::format("{}-{}", record.partition, record.offset)
                                           : parsed.request_id;
  }
  requests_[{record.partition.value, record.offset.value}] = std::move(r);
}

void InvariantChecker::add_result(const kafka::ReadRecord& record) {
  std::string error;
  auto r = record.value ? coupon::parse_result(*record.value, error) : std::nullopt;
  if (!r) {
    input_problems_.push_back({"I3", fmt::format("unreadable result at {}-{}@{}: {}", record.topic,
                                                 record.partition, record.offset, error)});
    return;
  }
  results_[{r->partition, r->offset}].push_back(
      Answer{r->accepted, r->issue_no, r->reason, r->request_id, r->coupon_id, r->user_id});
}

void InvariantChecker::add_dlq(const kafka::ReadRecord& record) {
  ++dlq_count_;
  auto topic = record.header("dlq.source.topic");
  auto partition = record.header("dlq.source.partition");
  auto offset = record.header("dlq.source.offset");
  auto reason = record.header("dlq.reason");
  if (!partition || !offset || !reason || !topic) {
    input_problems_.push_back({"I3", fmt::format("DLQ entry {}-{}@{} lacks the dlq.* headers", record.topic,
                                                 record.partition, record.offset)});
    return;
  }
  if (*topic != issuance_topic_) return;  // only request records are checked here
  dlq_[{std::stoi(std::string(*partition)), std::stoll(std::string(*offset))}] = std::string(*reason);
}

void InvariantChecker::add_truncated(const kafka::TopicSnapshotInfo& info) {
  input_problems_.push_back(
      {"INPUT", fmt::format("{}-{} starts at offset {}: records were deleted, so the topics cannot be "
                            "fully checked",
                            info.topic, info.partition, info.low)});
}

VerifyReport InvariantChecker::check() const {
  VerifyReport report;
  std::map<std::string, size_t> listed;
  auto violate = [&](const std::string& invariant, std::string detail) {
    ++report.violation_count;
    if (listed[invariant]++ < kMaxListedPerInvariant) report.violations.push_back({invariant, std::move(detail)});
  };
  for (const auto& v : input_problems_) violate(v.invariant, v.detail);
  report.requests = static_cast<int64_t>(requests_.size());
  report.dlq_entries = dlq_count_;
  for (const auto& [pos, reason] : dlq_) ++report.dlq_by_reason[reason];

  // Catalog facts per coupon.
  for (const auto& [coupon, defs] : catalog_) {
    CouponSummary& s = report.coupons[coupon];
    s.coupon_id = coupon;
    for (const auto& d : defs) {
      s.max_capacity = std::max(s.max_capacity, d.capacity);
      if (!d.value || d.value != defs.front().value) s.fixed_catalog = false;
    }
  }

  // I3: every request answered, by results or by the DLQ, never both.
  std::map<std::string, std::vector<std::pair<Position, const Answer*>>> by_coupon;
  for (const auto& [pos, request] : requests_) {
    auto res = results_.find(pos);
    const bool in_dlq = dlq_.contains(pos);
    if (res == results_.end() && !in_dlq) {
      violate("I3", fmt::format("request {}-{} has no result and no DLQ entry", pos.first, pos.second));
      continue;
    }
    if (res != results_.end() && in_dlq) {
      violate("I3", fmt::format("request {}-{} has both a result and a DLQ entry", pos.first, pos.second));
    }
    if (res == results_.end()) continue;
    const auto& answers = res->second;
    report.results += static_cast<int64_t>(answers.size());
    report.duplicate_results += static_cast<int64_t>(answers.size()) - 1;
    const Answer& first = answers.front();
    if (!request.parsed || first.coupon_id != request.coupon_id || first.user_id != request.user_id ||
        first.identity != request.identity) {
      violate("I3", fmt::format("result for {}-{} does not match its request", pos.first, pos.second));
      continue;
    }
    auto def = catalog_.find(first.coupon_id);
    const bool fixed = def == catalog_.end() || report.coupons[first.coupon_id].fixed_catalog;
    for (const auto& a : answers) {
      if (fixed && (a.accepted != first.accepted || a.issue_no != first.issue_no || a.reason != first.reason)) {
        violate("I3", fmt::format("request {}-{} ({}) was answered differently on replay", pos.first,
                                  pos.second, first.identity));
        break;
      }
    }
    if (murmur2_partition(first.coupon_id, partitions_).value != pos.first) {
      violate("I1", fmt::format("request {}-{} for coupon {} sits outside the coupon's partition {} and was "
                                "decided instead of dead-lettered as MISROUTED",
                                pos.first, pos.second, first.coupon_id,
                                murmur2_partition(first.coupon_id, partitions_)));
      continue;
    }
    by_coupon[first.coupon_id].emplace_back(pos, &first);
  }
  for (const auto& [pos, answers] : results_) {
    if (!requests_.contains(pos)) {
      violate("I3", fmt::format("result for {}-{} answers no request", pos.first, pos.second));
    }
  }

  for (const auto& [coupon, decided] : by_coupon) {
    CouponSummary& s = report.coupons[coupon];
    s.coupon_id = coupon;
    std::map<std::string, std::set<std::string>> identities_of_user;  // accepted
    std::map<int64_t, std::string> identity_of_issue_no;
    std::set<std::string> accepted_identities;
    std::map<std::string, std::set<std::string>> rejected_identities;
    for (const auto& [pos, a] : decided) {
      ++s.requests;
      if (a->accepted) {
        accepted_identities.insert(a->identity);
        identities_of_user[a->user_id].insert(a->identity);
        auto [it, inserted] = identity_of_issue_no.emplace(a->issue_no, a->identity);
        if (!inserted && it->second != a->identity) {
          violate("I5", fmt::format("coupon {}: issueNo {} given to {} and {}", coupon, a->issue_no, it->second,
                                    a->identity));
        }
      } else {
        rejected_identities[a->reason].insert(a->identity);
      }
    }
    s.accepted = static_cast<int64_t>(accepted_identities.size());
    for (const auto& [reason, ids] : rejected_identities) s.rejected[reason] = static_cast<int64_t>(ids.size());

    // I1: never over-issued.
    if (static_cast<int64_t>(identities_of_user.size()) > s.max_capacity) {
      violate("I1", fmt::format("coupon {}: {} users hold it, capacity was at most {}", coupon,
                                identities_of_user.size(), s.max_capacity));
    }
    // I2: one accepted identity per user.
    for (const auto& [user, ids] : identities_of_user) {
      if (ids.size() > 1) {
        violate("I2", fmt::format("coupon {}: user {} was accepted under {} identities", coupon, user, ids.size()));
      }
    }
    // I5: issueNo runs 1..k.
    int64_t expected = 1;
    for (const auto& [no, identity] : identity_of_issue_no) {
      if (no != expected) {
        violate("I5", fmt::format("coupon {}: issueNo {} follows {} (gap or start other than 1)", coupon, no,
                                  expected - 1));
        break;
      }
      ++expected;
    }
    // I4: with a fixed catalog, the accepted ones are the first eligible in offset order.
    auto def = catalog_.find(coupon);
    if (!s.fixed_catalog) continue;
    if (def == catalog_.end()) {
      if (!accepted_identities.empty()) violate("I4", fmt::format("coupon {} is not in the catalog but was issued", coupon));
      continue;
    }
    const Definition& d = def->second.front();
    std::set<std::string> granted;                   // identities accepted so far
    std::map<std::string, std::string> holder_of;    // user -> identity
    for (const auto& [pos, a] : decided) {
      const Request& req = requests_.at(pos);
      const bool replay = holder_of.contains(req.user_id) && holder_of[req.user_id] == req.identity;
      if (req.timestamp < d.timestamp) {
        // Older than the definition: UNKNOWN_COUPON, or judged by it if the definition
        // was already applied when the request arrived. Either way it counts if accepted.
        if (a->accepted && !replay) {
          if (a->issue_no != static_cast<int64_t>(granted.size()) + 1) {
            violate("I4", fmt::format("coupon {}: request {}-{} got issueNo {} but was accepted #{}", coupon,
                                      pos.first, pos.second, a->issue_no, granted.size() + 1));
          }
          granted.insert(req.identity);
          holder_of[req.user_id] = req.identity;
        }
        continue;
      }
      std::string expected_outcome;
      if (replay) {
        expected_outcome = "ACCEPTED";
      } else if (d.opens_at && req.timestamp < *d.opens_at) {
        expected_outcome = "NOT_OPEN";
      } else if (d.closes_at && req.timestamp >= *d.closes_at) {
        expected_outcome = "CLOSED";
      } else if (holder_of.contains(req.user_id)) {
        expected_outcome = "ALREADY_ISSUED";
      } else if (static_cast<int64_t>(granted.size()) >= d.capacity) {
        expected_outcome = "SOLD_OUT";
      } else {
        expected_outcome = "ACCEPTED";
      }
      const std::string actual = a->accepted ? "ACCEPTED" : a->reason;
      if (actual != expected_outcome) {
        violate("I4", fmt::format("coupon {}: request {}-{} ({}, user {}) was {} but first-come-first-served "
                                  "order makes it {}",
                                  coupon, pos.first, pos.second, req.identity, req.user_id, actual, expected_outcome));
      } else if (a->accepted && !replay &&
                 a->issue_no != static_cast<int64_t>(granted.size()) + 1) {
        violate("I4", fmt::format("coupon {}: request {}-{} got issueNo {} but was accepted #{}", coupon, pos.first,
                                  pos.second, a->issue_no, granted.size() + 1));
      }
      if (a->accepted && !replay) {
        granted.insert(req.identity);
        holder_of[req.user_id] = req.identity;
      }
    }
  }
  return report;
}

}  // namespace couponflow::ops
