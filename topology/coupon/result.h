#pragma once
// The result (value of coupon-issued / coupon-rejected), written by the processor and
// read back by verify, the demo and tests.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace couponflow::coupon {

struct CouponResult {
  std::string request_id;  // the request's identity
  std::string coupon_id;
  std::string user_id;
  bool accepted = false;
  int64_t issue_no = 0;  // accepted only
  std::string reason;    // rejected only
  std::optional<int64_t> requested_at;
  int64_t decided_at = 0;
  int32_t partition = 0;
  int64_t offset = 0;
};

/// Writes `r` as the contract's result JSON into `out` (replacing its content).
void write_result_json(std::string& out, const CouponResult& r);
/// Same, from views (the processor's allocation-free path).
struct ResultView {
  std::string_view request_id, coupon_id, user_id;
  bool accepted;
  int64_t issue_no;
  std::string_view reason;
  std::optional<int64_t> requested_at;
  int64_t decided_at;
  int32_t partition;
  int64_t offset;
};
void write_result_json(std::string& out, const ResultView& r);

/// Parses a result value; nullopt with `error` set if it is not one.
std::optional<CouponResult> parse_result(std::string_view json, std::string& error);

}  // namespace couponflow::coupon
