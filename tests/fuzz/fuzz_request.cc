// Request decoding (the hot path's parser): never a crash; a request that parses
// round-trips through the writer; and the reader's plain pass answers exactly as
// simdjson alone does (same error and message, or the same fields).

#include <cstdlib>
#include <string>

#include "topology/coupon/json_object.h"
#include "topology/coupon/request.h"

using namespace couponflow::coupon;

namespace {

bool same(const std::optional<JsonError>& a_err, const RequestFields& a, const std::optional<JsonError>& b_err, const RequestFields& b) {
  if (a_err.has_value() != b_err.has_value()) return false;
  if (a_err) return a_err->kind == b_err->kind && a_err->message == b_err->message;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].present != b[i].present || a[i].text != b[i].text || a[i].number != b[i].number) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view value(reinterpret_cast<const char*>(data), size);

  static JsonObjectReader with_plain;
  static JsonObjectReader simdjson_only(kDefaultMaxJsonBytes, false);
  RequestFields a = request_fields(), b = request_fields();
  const auto a_err = with_plain.read(value, a);
  const auto b_err = simdjson_only.read(value, b);
  if (!same(a_err, a, b_err, b)) std::abort();  // the plain pass changed an answer

  static RequestParser parser;
  CouponRequest request;
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
