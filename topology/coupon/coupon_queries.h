#pragma once
// The coupon job's interactive queries: what a coupon has left and who holds it, read
// from the stores of the task that decides the coupon (see processor/interactive_query.h),
// and their JSON answers (contract v2, "HTTP ingress and queries").

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "state/key_value_store.h"
#include "topology/coupon/catalog.h"

namespace couponflow::coupon {

struct CouponStatus {
  CouponDefinition definition;
  int64_t issued = 0;
  int64_t remaining() const { return definition.capacity > issued ? definition.capacity - issued : 0; }
};

struct HolderStatus {
  int64_t issue_no = 0;
  std::string request_id;  // the identity that was granted the coupon
};

/// nullopt: the coupon is not in the catalog (it may still have holders from an earlier
/// definition: a deleted coupon is unknown, as rule 2 treats it).
/// `catalog`: the catalog store; `counts`: the issued store's counts view.
std::optional<CouponStatus> read_coupon_status(state::ReadableStore& catalog, state::ReadableStore& counts,
                                               std::string_view coupon_id);
/// nullopt: the user holds no such coupon. `issued`: the issued store.
std::optional<HolderStatus> read_holder(state::ReadableStore& issued, std::string_view coupon_id,
                                        std::string_view user_id);

/// {"couponId", "capacity", "issued", "remaining", "opensAt"?, "closesAt"?}
std::string coupon_status_json(std::string_view coupon_id, const CouponStatus& status);
/// {"couponId", "userId", "issueNo", "requestId"}
std::string holder_json(std::string_view coupon_id, std::string_view user_id, const HolderStatus& holder);

}  // namespace couponflow::coupon
