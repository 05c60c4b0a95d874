#pragma once
// The contract's decision rules, as a pure function: same inputs, same decision, which
// is what makes a replay decide identically.

#include <cstdint>
#include <optional>
#include <string_view>

#include "topology/coupon/catalog.h"
#include "topology/coupon/issued_state.h"

namespace couponflow::coupon {

enum class RejectReason { kSoldOut, kAlreadyIssued, kUnknownCoupon, kNotOpen, kClosed };
inline constexpr size_t kRejectReasons = 5;

inline std::string_view to_string(RejectReason r) {
  switch (r) {
    case RejectReason::kSoldOut: return "SOLD_OUT";
    case RejectReason::kAlreadyIssued: return "ALREADY_ISSUED";
    case RejectReason::kUnknownCoupon: return "UNKNOWN_COUPON";
    case RejectReason::kNotOpen: return "NOT_OPEN";
    case RejectReason::kClosed: return "CLOSED";
  }
  return "?";
}

struct Decision {
  bool accepted = false;
  int64_t issue_no = 0;            // accepted only
  RejectReason reason{};           // rejected only
  bool grants_new_holding = false;  // accepted for the first time: record the holding
};

/// What the rules look at for one request.
struct DecisionInput {
  std::string_view identity;                     // requestId, or "<partition>-<offset>"
  int64_t timestamp = 0;                         // the request record's timestamp
  const CouponDefinition* definition = nullptr;  // nullptr: not in the catalog
  std::optional<Holding> holding;                // the user's holding of this coupon
  int64_t issued_count = 0;
};

/// Rules in contract order: 1 replay of the same identity, 2 unknown coupon,
/// 3 window, 4 already issued, 5 sold out, 6 accept with issueNo = count + 1.
Decision decide(const DecisionInput& in);

}  // namespace couponflow::coupon
