// Request decoding (the hot path's parser): never a crash, and a request that parses
// round-trips through the writer.

#include <cstdlib>

#include "topology/coupon/request.h"

using namespace couponflow::coupon;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static RequestParser parser;
  CouponRequest request;
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  if (parser.parse(value, request)) return 0;  // undecidable: a DLQ verdict, never a crash
  const std::string again = request_json(request.request_id, request.coupon_id, request.user_id, request.requested_at);
  CouponRequest reparsed;
  if (parser.parse(again, reparsed) || reparsed.request_id != request.request_id ||
      reparsed.coupon_id != request.coupon_id || reparsed.user_id != request.user_id ||
      reparsed.requested_at != request.requested_at) {
    std::abort();  // what the writer writes, the parser must read back the same
  }
  return 0;
}
