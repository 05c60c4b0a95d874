#pragma once
// Checks the contract's invariants I1-I5 over the full content of the request, catalog,
// result and DLQ topics, and the issued store's changelog. Independent of the
// processor: it re-derives what each result must be from the requests and the catalog,
// and never calls the decision code.
//
// It reports only what it can prove. When records it needs are gone (a partition whose
// log no longer starts at 0 on a topic that is not compacted: retention, or the
// embedded broker's size cap), the checks those records would settle are left out and
// the verdict is "cannot verify" unless a violation is proven by what remains.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "processor/kafka/topic_reader.h"

namespace couponflow::ops {

struct Violation {
  std::string invariant;  // "I1".."I5"
  std::string detail;
};

struct CouponSummary {
  std::string coupon_id;
  int64_t max_capacity = 0;  // highest capacity the catalog ever gave it
  bool fixed_catalog = true;  // one definition, never changed or deleted
  int64_t requests = 0;
  int64_t accepted = 0;  // distinct accepted identities
  std::map<std::string, int64_t> rejected;  // reason -> distinct identities never accepted
};

enum class Verdict { kPass, kFail, kCannotVerify };
std::string_view to_string(Verdict verdict);  // "pass", "fail", "cannot_verify"

struct VerifyReport {
  int64_t requests = 0;
  int64_t results = 0;
  int64_t duplicate_results = 0;
  int64_t dlq_entries = 0;
  int64_t holdings = -1;  // in the changelog; -1: not read
  std::map<std::string, int64_t> dlq_by_reason;
  std::map<std::string, CouponSummary> coupons;
  std::vector<Violation> violations;  // the first few of each kind
  int64_t violation_count = 0;
  /// Why some checks could not be made (records gone, a topic unreadable), naming the
  /// topic and partition. Non-empty without violations: the verdict is cannot_verify.
  std::vector<std::string> unverifiable;

  Verdict verdict() const;
  bool ok() const { return verdict() == Verdict::kPass; }
};

/// What a topic is to the checker.
enum class TopicRole { kRequests, kCatalog, kResults, kDlq, kChangelog };

/// Role: accumulates records, then checks. Feed each topic in offset order per partition.
class InvariantChecker {
 public:
  InvariantChecker(std::string issuance_topic, int32_t issuance_partitions);

  void add_catalog(const kafka::ReadRecord& record);
  void add_request(const kafka::ReadRecord& record);
  void add_result(const kafka::ReadRecord& record);
  void add_dlq(const kafka::ReadRecord& record);
  /// A record of the issued store's changelog (the state that decides).
  void add_holding(const kafka::ReadRecord& record);
  /// Records before `info.low` are gone from a partition of a topic that is not
  /// compacted; `partition_count` is the topic's.
  void add_truncated(TopicRole role, const kafka::TopicSnapshotInfo& info, int32_t partition_count);
  /// A check that could not be made at all (e.g. the changelog topic does not exist).
  void add_unverifiable(std::string why);

  VerifyReport check() const;

 private:
  struct Request {
    bool parsed = false;
    std::string coupon_id, user_id, identity;
    int64_t timestamp = 0;
  };
  struct Answer {
    bool accepted;
    int64_t issue_no;
    std::string reason;
    std::string identity, coupon_id, user_id;
  };
  struct Definition {
    int64_t timestamp;
    std::optional<std::string> value;  // nullopt: deleted
    int64_t capacity = 0;
    std::optional<int64_t> opens_at, closes_at;
  };
  struct Holding {
    int64_t issue_no;
    std::string identity;
  };
  using Position = std::pair<int32_t, int64_t>;  // partition, offset

  /// Every answer for `coupon` is in the result and DLQ topics.
  bool answers_complete(const std::string& coupon) const;
  bool requests_complete(int32_t partition) const { return !truncated_requests_.contains(partition); }

  std::string issuance_topic_;
  int32_t partitions_;
  std::map<Position, Request> requests_;
  std::map<Position, std::vector<Answer>> results_;
  std::map<Position, std::string> dlq_;  // reason
  std::map<std::string, std::vector<Definition>> catalog_;
  std::optional<std::map<std::pair<std::string, std::string>, Holding>> holdings_;  // (coupon, user)
  std::vector<Violation> input_problems_;
  int64_t dlq_count_ = 0;

  // What is missing (see add_truncated).
  std::set<int32_t> truncated_requests_;
  std::set<std::pair<int32_t, int32_t>> truncated_results_;  // (partition count, partition)
  std::set<int32_t> truncated_changelog_;
  bool truncated_catalog_ = false;
  bool truncated_dlq_ = false;
  std::vector<std::string> unverifiable_;
};

}  // namespace couponflow::ops
