#pragma once
// The issued store: who holds which coupon, and (as a derived view) how many were issued.
//
// Primary keyspace, changelogged: holding key (coupon, user) -> {issueNo, identity}.
// View "counts": coupon -> issued count, derived from the holdings (the highest issueNo,
// which equals the number of holders since issueNos run 1..k). Because the count is a
// view of the holdings, kept in the same atomic local write and rebuilt from the same
// changelog records on restore, it cannot drift from the issued set, whatever the
// point at which a crash interrupted the changelog. Holdings are deleted only by
// couponflow reset, all of them: each deletion takes one off the count.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "state/store_spec.h"

namespace couponflow::coupon {

inline constexpr std::string_view kIssuedStore = "issued";
inline constexpr std::string_view kCountsView = "counts";
inline constexpr std::string_view kCatalogStore = "catalog";

struct Holding {
  int64_t issue_no = 0;
  std::string_view identity;  // the request identity that was granted the coupon
};

/// Key of a holding: a 4-byte big-endian coupon-id length, the coupon id, the user id.
/// The length prefix keeps ids that contain any byte unambiguous, and groups a
/// coupon's holders together in key order.
void holding_key(std::string& out, std::string_view coupon_id, std::string_view user_id);
/// The coupon id of a holding key, nullopt if the key is not one.
std::optional<std::string_view> coupon_of_holding_key(std::string_view key);

void encode_holding(std::string& out, int64_t issue_no, std::string_view identity);
std::optional<Holding> decode_holding(std::string_view bytes);

std::string encode_count(int64_t count);
int64_t decode_count(std::optional<std::string_view> bytes);

/// The issued store's declaration, with its counts view.
state::StoreSpec issued_store_spec();

}  // namespace couponflow::coupon
