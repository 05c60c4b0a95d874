#include "topology/coupon/coupon_queries.h"

#include <fmt/format.h>

#include <iterator>

#include "common/json_string.h"
#include "topology/coupon/issued_state.h"

namespace couponflow::coupon {

std::optional<CouponStatus> read_coupon_status(state::ReadableStore& catalog, state::ReadableStore& counts,
                                               std::string_view coupon_id) {
  const auto stored = catalog.get(coupon_id);
  if (!stored) return std::nullopt;
  const auto definition = decode_definition(*stored);
  if (!definition) return std::nullopt;  // not written by catalog_materializer: treat as absent
  return CouponStatus{*definition, decode_count(counts.get(coupon_id))};
}

std::optional<HolderStatus> read_holder(state::ReadableStore& issued, std::string_view coupon_id,
                                        std::string_view user_id) {
  std::string key;
  holding_key(key, coupon_id, user_id);
  const auto stored = issued.get(key);
  if (!stored) return std::nullopt;
  const auto holding = decode_holding(*stored);
  if (!holding) return std::nullopt;
  return HolderStatus{holding->issue_no, std::string(holding->identity)};
}

std::string coupon_status_json(std::string_view coupon_id, const CouponStatus& status) {
  std::string out = "{\"couponId\":";
  append_json_string(out, coupon_id);
  const CouponDefinition& d = status.definition;
  fmt::format_to(std::back_inserter(out), ",\"capacity\":{},\"issued\":{},\"remaining\":{}", d.capacity,
                 status.issued, status.remaining());
  if (d.opens_at) fmt::format_to(std::back_inserter(out), ",\"opensAt\":{}", *d.opens_at);
  if (d.closes_at) fmt::format_to(std::back_inserter(out), ",\"closesAt\":{}", *d.closes_at);
  out += '}';
  return out;
}

std::string holder_json(std::string_view coupon_id, std::string_view user_id, const HolderStatus& holder) {
  std::string out = "{\"couponId\":";
  append_json_string(out, coupon_id);
  out += ",\"userId\":";
  append_json_string(out, user_id);
  fmt::format_to(std::back_inserter(out), ",\"issueNo\":{},\"requestId\":", holder.issue_no);
  append_json_string(out, holder.request_id);
  out += '}';
  return out;
}

}  // namespace couponflow::coupon
