#include "topology/coupon/decision.h"

namespace couponflow::coupon {

Decision decide(const DecisionInput& in) {
  auto reject = [](RejectReason r) { return Decision{false, 0, r, false}; };
  if (in.holding && in.holding->identity == in.identity) {
    return Decision{true, in.holding->issue_no, {}, false};
  }
  if (in.definition == nullptr) return reject(RejectReason::kUnknownCoupon);
  if (in.definition->opens_at && in.timestamp < *in.definition->opens_at) {
    return reject(RejectReason::kNotOpen);
  }
  if (in.definition->closes_at && in.timestamp >= *in.definition->closes_at) {
    return reject(RejectReason::kClosed);
  }
  if (in.holding) return reject(RejectReason::kAlreadyIssued);
  if (in.issued_count >= in.definition->capacity) return reject(RejectReason::kSoldOut);
  return Decision{true, in.issued_count + 1, {}, true};
}

}  // namespace couponflow::coupon
