#pragma once
// Checks the contract's invariants I1-I5 over the full content of the request, catalog,
// result and DLQ topics. Independent of the processor: it re-derives what each result
// must be from the requests and the catalog, and never calls the decision code.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "processor/kafka/topic_reader.h"

namespace couponflow::ops {

struct Violation {
  std::string invariant;  // "I1".."I5", or "INPUT" when the topics cannot be checked
  std::string detail;
};

struct CouponSummary {
  std::string coupon_id;
  int64_t max_capacity = 0;  // highest capacity the catalog ever gave it
  bool fixed_catalog = true;  // one definition, never changed or deleted
  int64_t requests = 0;
  int64_t accepted = 0;  // distinct accepted identities
  std::map<std::string, int64_t> rejected;  // reason -> distinct identities
};

struct VerifyReport {
  int64_t requests = 0;
  int64_t results = 0;
  int64_t duplicate_results = 0;
  int64_t dlq_entries = 0;
  std::map<std::string, int64_t> dlq_by_reason;
  std::map<std::string, CouponSummary> coupons;
  std::vector<Violation> violations;  // the first few of each kind
  int64_t violation_count = 0;

  bool ok() const { return violation_count == 0; }
};

/// Role: accumulates records, then checks. Feed each topic in offset order per partition.
class InvariantChecker {
 public:
  InvariantChecker(std::string issuance_topic, int32_t issuance_partitions);

  void add_catalog(const kafka::ReadRecord& record);
  void add_request(const kafka::ReadRecord& record);
  void add_result(const kafka::ReadRecord& record);
  void add_dlq(const kafka::ReadRecord& record);
  /// A partition whose log does not start at 0 cannot be fully checked.
  void add_truncated(const kafka::TopicSnapshotInfo& info);

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
  using Position = std::pair<int32_t, int64_t>;  // partition, offset

  std::string issuance_topic_;
  int32_t partitions_;
  std::map<Position, Request> requests_;
  std::map<Position, std::vector<Answer>> results_;
  std::map<Position, std::string> dlq_;  // reason
  std::map<std::string, std::vector<Definition>> catalog_;
  std::vector<Violation> input_problems_;
  int64_t dlq_count_ = 0;
};

}  // namespace couponflow::ops
