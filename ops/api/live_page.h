#pragma once
// The api's live page (GET /): the coupons with capacity, issued and remaining,
// refreshed every second from the query endpoints.

#include <string_view>

namespace couponflow::ops {

std::string_view live_page_html();

}  // namespace couponflow::ops
