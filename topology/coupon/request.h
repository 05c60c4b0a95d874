#pragma once
// The coupon request (value of coupon-issuance), as the contract defines it.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "topology/coupon/dlq.h"
#include "topology/coupon/json_object.h"

namespace couponflow::coupon {

struct CouponRequest {
  std::string request_id;  // empty: absent (null and "" count as absent)
  std::string coupon_id;
  std::string user_id;
  std::optional<int64_t> requested_at;
};

/// The request's fields as `JsonObjectReader` reads them, in this order: requestId,
/// couponId, userId, requestedAt. Tests, fuzzers and benchmarks read requests with it too.
using RequestFields = std::array<JsonField, 4>;
RequestFields request_fields();

/// Parses request values, reusing buffers between calls. One per task.
class RequestParser {
 public:
  /// Fills `out`, or says why the value cannot be judged.
  std::optional<DlqVerdict> parse(std::string_view value, CouponRequest& out);

 private:
  JsonObjectReader reader_;
  RequestFields fields_ = request_fields();
};

/// The request as JSON, for producers (loadgen, demo, tests).
std::string request_json(std::string_view request_id, std::string_view coupon_id,
                         std::string_view user_id, std::optional<int64_t> requested_at);

}  // namespace couponflow::coupon
