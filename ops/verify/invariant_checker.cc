#include "ops/verify/invariant_checker.h"

#include <set>

#include <fmt/format.h>

#include "common/murmur2.h"
#include "common/parse_number.h"
#include "state/materialized_store.h"
#include "topology/coupon/catalog.h"
#include "topology/coupon/dlq.h"
#include "topology/coupon/issued_state.h"
#include "topology/coupon/request.h"
#include "topology/coupon/result.h"

namespace couponflow::ops {

namespace {
constexpr size_t kMaxListedPerInvariant = 10;

}  // namespace

std::string_view to_string(Verdict verdict) {
  switch (verdict) {
    case Verdict::kPass: return "pass";
    case Verdict::kFail: return "fail";
    case Verdict::kCannotVerify: return "cannot_verify";
  }
  return "?";
}

Verdict VerifyReport::verdict() const {
  if (violation_count > 0) return Verdict::kFail;
  if (!unverifiable.empty()) return Verdict::kCannotVerify;
  return Verdict::kPass;
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
  thread_local coupon::RequestParser parser;
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
                                                 record.partition, record.offset,
                                                 record.value ? error : "no value")});
    return;
  }
  results_[{r->partition, r->offset}].push_back(
      Answer{r->accepted, r->issue_no, r->reason, r->request_id, r->coupon_id, r->user_id});
}

void InvariantChecker::add_dlq(const kafka::ReadRecord& record) {
  namespace h = coupon::dlq_header;
  ++dlq_count_;
  const auto topic = record.header(h::kSourceTopic);
  const auto partition = parse_number<int32_t>(record.header(h::kSourcePartition));
  const auto offset = parse_number<int64_t>(record.header(h::kSourceOffset));
  const auto reason = record.header(h::kReason);
  if (!topic || !partition || !offset || !reason) {
    input_problems_.push_back({"I3", fmt::format("DLQ entry {}-{}@{} lacks valid dlq.* headers (source topic, "
                                                 "numeric partition and offset, reason)",
                                                 record.topic, record.partition, record.offset)});
    return;
  }
  if (*topic != issuance_topic_) return;  // only request records are checked here
  dlq_[{*partition, *offset}] = std::string(*reason);
}

void InvariantChecker::add_holding(const kafka::ReadRecord& record) {
  if (!holdings_) holdings_.emplace();
  if (record.key == state::kSourceOffsetsKey) return;  // the engine's input position, not a holding
  const auto coupon_id = record.key ? coupon::coupon_of_holding_key(*record.key) : std::nullopt;
  if (!coupon_id) {
    input_problems_.push_back({"I1", fmt::format("changelog record {}-{}@{} has no holding key", record.topic,
                                                 record.partition, record.offset)});
    return;
  }
  std::pair<std::string, std::string> key{std::string(*coupon_id),
                                           record.key->substr(sizeof(uint32_t) + coupon_id->size())};
  if (!record.value) {
    holdings_->erase(key);
    return;
  }
  const auto holding = coupon::decode_holding(*record.value);
  if (!holding) {
    input_problems_.push_back({"I1", fmt::format("changelog record {}-{}@{} is not a holding", record.topic,
                                                 record.partition, record.offset)});
    return;
  }
  (*holdings_)[std::move(key)] = Holding{holding->issue_no, std::string(holding->identity)};
}

void InvariantChecker::add_truncated(TopicRole role, const kafka::TopicSnapshotInfo& info, int32_t partition_count) {
  unverifiable_.push_back(fmt::format("{}-{}: records before offset {} are gone (its log start; the topic is not "
                                      "compacted)",
                                      info.topic, info.partition, info.low));
  switch (role) {
    case TopicRole::kRequests: truncated_requests_.insert(info.partition.value); break;
    case TopicRole::kCatalog: truncated_catalog_ = true; break;
    case TopicRole::kResults: truncated_results_.insert({partition_count, info.partition.value}); break;
    case TopicRole::kDlq: truncated_dlq_ = true; break;
    case TopicRole::kChangelog: truncated_changelog_.insert(info.partition.value); break;
  }
}

void InvariantChecker::add_unverifiable(std::string why) { unverifiable_.push_back(std::move(why)); }

bool InvariantChecker::answers_complete(const std::string& coupon) const {
  if (truncated_dlq_) return false;
  for (const auto& [count, partition] : truncated_results_) {
    if (murmur2_partition(coupon, count).value == partition) return false;
  }
  return true;
}

VerifyReport InvariantChecker::check() const {
  VerifyReport report;
  report.unverifiable = unverifiable_;
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
  auto fixed_catalog = [&](const std::string& coupon) {
    if (truncated_catalog_) return false;
    auto it = report.coupons.find(coupon);
    return it == report.coupons.end() || it->second.fixed_catalog;
  };

  // I3: every request answered, by results or by the DLQ, never both; every answer
  // matches its request; replays answer alike while the catalog stays fixed.
  struct Decided {
    Position pos;
    const std::vector<Answer>* answers;
  };
  std::map<std::string, std::vector<Decided>> by_coupon;
  int64_t unprovable_missing = 0;
  for (const auto& [pos, request] : requests_) {
    auto res = results_.find(pos);
    const bool in_dlq = dlq_.contains(pos);
    if (res == results_.end() && !in_dlq) {
      const bool provable = !truncated_dlq_ && (!request.parsed || answers_complete(request.coupon_id));
      if (provable) {
        violate("I3", fmt::format("request {}-{} has no result and no DLQ entry", pos.first, pos.second));
      } else {
        ++unprovable_missing;
      }
      continue;
    }
    if (res != results_.end() && in_dlq) {
      violate("I3", fmt::format("request {}-{} has both a result and a DLQ entry", pos.first, pos.second));
    }
    if (res == results_.end()) continue;
    const auto& answers = res->second;
    report.results += static_cast<int64_t>(answers.size());
    report.duplicate_results += static_cast<int64_t>(answers.size()) - 1;
    bool matches = request.parsed;
    for (const auto& a : answers) {
      matches = matches && a.coupon_id == request.coupon_id && a.user_id == request.user_id &&
                a.identity == request.identity;
    }
    if (!matches) {
      violate("I3", fmt::format("a result for {}-{} does not match its request", pos.first, pos.second));
      continue;
    }
    const Answer& first = answers.front();
    if (fixed_catalog(first.coupon_id)) {
      for (const auto& a : answers) {
        if (a.accepted != first.accepted || a.issue_no != first.issue_no || a.reason != first.reason) {
          violate("I3", fmt::format("request {}-{} ({}) was answered differently on replay", pos.first, pos.second,
                                    first.identity));
          break;
        }
      }
    }
    const Partition home = murmur2_partition(first.coupon_id, partitions_);
    if (home.value != pos.first) {
      violate("I1", fmt::format("request {}-{} for coupon {} sits outside the coupon's partition {} and was "
                                "decided instead of dead-lettered as MISROUTED",
                                pos.first, pos.second, first.coupon_id, home));
      continue;
    }
    by_coupon[first.coupon_id].push_back({pos, &answers});
  }
  if (unprovable_missing > 0) {
    report.unverifiable.push_back(fmt::format("{} requests have no answer in the records left; their answers may "
                                              "be among the records that are gone",
                                              unprovable_missing));
  }
  for (const auto& [pos, answers] : results_) {
    if (!requests_.contains(pos) && requests_complete(pos.first)) {
      violate("I3", fmt::format("result for {}-{} answers no request", pos.first, pos.second));
    }
  }

  // Per coupon, from every accepted answer (not only the first of each request).
  std::map<std::string, std::map<std::string, std::pair<std::string, int64_t>>> accepted_by_user;  // coupon -> user
  for (const auto& [coupon, decided] : by_coupon) {
    CouponSummary& s = report.coupons[coupon];
    s.coupon_id = coupon;
    const bool complete = answers_complete(coupon);
    std::map<std::string, std::set<std::string>> identities_of_user;
    std::map<std::string, std::set<int64_t>> issue_nos_of_identity;
    std::map<int64_t, std::string> identity_of_issue_no;
    std::map<std::string, std::string> rejection_of;  // identity -> a reason, for identities never accepted
    for (const auto& [pos, answers] : decided) {
      ++s.requests;
      for (const Answer& a : *answers) {
        if (!a.accepted) {
          auto [it, inserted] = rejection_of.emplace(a.identity, a.reason);
          if (!inserted) it->second = std::min(it->second, a.reason);
          continue;
        }
        identities_of_user[a.user_id].insert(a.identity);
        issue_nos_of_identity[a.identity].insert(a.issue_no);
        accepted_by_user[coupon][a.user_id] = {a.identity, a.issue_no};
        auto [it, inserted] = identity_of_issue_no.emplace(a.issue_no, a.identity);
        if (!inserted && it->second != a.identity) {
          violate("I5", fmt::format("coupon {}: issueNo {} given to {} and {}", coupon, a.issue_no, it->second,
                                    a.identity));
        }
      }
    }
    s.accepted = static_cast<int64_t>(issue_nos_of_identity.size());
    for (const auto& [identity, reason] : rejection_of) {
      if (!issue_nos_of_identity.contains(identity)) ++s.rejected[reason];
    }
    for (const auto& [identity, nos] : issue_nos_of_identity) {
      if (nos.size() > 1) {
        violate("I5", fmt::format("coupon {}: {} was accepted with {} different issueNos", coupon, identity, nos.size()));
      }
    }
    // I1: never over-issued (judged against every capacity the catalog gave it).
    if (!truncated_catalog_ && static_cast<int64_t>(identities_of_user.size()) > s.max_capacity) {
      violate("I1", fmt::format("coupon {}: {} users hold it, capacity was at most {}", coupon,
                                identities_of_user.size(), s.max_capacity));
    }
    // I2: one accepted identity per user.
    for (const auto& [user, ids] : identities_of_user) {
      if (ids.size() > 1) {
        violate("I2", fmt::format("coupon {}: user {} was accepted under {} identities", coupon, user, ids.size()));
      }
    }
    if (!complete) continue;  // gaps and order need every answer
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
    const Partition home = murmur2_partition(coupon, partitions_);
    if (!fixed_catalog(coupon) || !requests_complete(home.value)) continue;
    auto def = catalog_.find(coupon);
    if (def == catalog_.end()) continue;  // never defined: I1 above already proved any issue wrong
    const Definition& d = def->second.front();
    std::set<std::string> granted;                 // identities accepted so far
    std::map<std::string, std::string> holder_of;  // user -> identity
    for (const auto& [pos, answers] : decided) {
      const Answer* a = &answers->front();  // every answer is alike (checked above)
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
      } else if (a->accepted && !replay && a->issue_no != static_cast<int64_t>(granted.size()) + 1) {
        violate("I4", fmt::format("coupon {}: request {}-{} got issueNo {} but was accepted #{}", coupon, pos.first,
                                  pos.second, a->issue_no, granted.size() + 1));
      }
      if (a->accepted && !replay) {
        granted.insert(req.identity);
        holder_of[req.user_id] = req.identity;
      }
    }
  }

  // The state that decides (the changelog) must agree with what users were told.
  if (holdings_) {
    report.holdings = static_cast<int64_t>(holdings_->size());
    auto changelog_complete = [&](const std::string& coupon) {
      return !truncated_changelog_.contains(murmur2_partition(coupon, partitions_).value);
    };
    for (const auto& [coupon, users] : accepted_by_user) {
      if (!changelog_complete(coupon)) continue;
      for (const auto& [user, accepted] : users) {
        auto it = holdings_->find({coupon, user});
        if (it == holdings_->end()) {
          violate("I1", fmt::format("coupon {}: {} (user {}) was accepted but the changelog holds no holding for "
                                    "it, so the state would issue the coupon again",
                                    coupon, accepted.first, user));
        } else if (it->second.identity != accepted.first || it->second.issue_no != accepted.second) {
          violate("I5", fmt::format("coupon {}: user {} was accepted as {} #{} but the changelog holds {} #{}", coupon,
                                    user, accepted.first, accepted.second, it->second.identity, it->second.issue_no));
        }
      }
    }
    for (const auto& [key, holding] : *holdings_) {
      const auto& [coupon, user] = key;
      if (!changelog_complete(coupon) || !answers_complete(coupon)) continue;
      auto users = accepted_by_user.find(coupon);
      if (users == accepted_by_user.end() || !users->second.contains(user)) {
        violate("I3", fmt::format("coupon {}: the changelog holds #{} for user {} ({}) but no result accepted it",
                                  coupon, holding.issue_no, user, holding.identity));
      }
    }
  }
  return report;
}

}  // namespace couponflow::ops
