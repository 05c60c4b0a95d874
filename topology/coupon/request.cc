#include "topology/coupon/request.h"

#include <fmt/format.h>

namespace couponflow::coupon {

RequestFields request_fields() {
  return {JsonField{"requestId", JsonType::kString}, JsonField{"couponId", JsonType::kString},
          JsonField{"userId", JsonType::kString}, JsonField{"requestedAt", JsonType::kInt64}};
}

std::optional<DlqVerdict> RequestParser::parse(std::string_view value, CouponRequest& out) {
  if (auto err = reader_.read(value, fields_)) {
    DlqReason reason = DlqReason::kMalformed;
    switch (err->kind) {
      case JsonError::Kind::kMalformed:
      case JsonError::Kind::kTooDeep: reason = DlqReason::kMalformed; break;
      case JsonError::Kind::kTooLarge: reason = DlqReason::kTooLarge; break;
      case JsonError::Kind::kInvalidField: reason = DlqReason::kInvalidField; break;
    }
    return DlqVerdict{reason, std::move(err->message)};
  }
  auto& [request_id, coupon_id, user_id, requested_at] = fields_;
  for (const JsonField* required : {&coupon_id, &user_id}) {
    if (!required->present) {
      return DlqVerdict{DlqReason::kMissingField,
                        fmt::format("required field \"{}\" is missing", required->name)};
    }
    if (required->text.empty()) {
      return DlqVerdict{DlqReason::kInvalidField,
                        fmt::format("field \"{}\" must not be empty", required->name)};
    }
  }
  out.request_id.swap(request_id.text);
  out.coupon_id.swap(coupon_id.text);
  out.user_id.swap(user_id.text);
  out.requested_at = requested_at.present ? std::optional<int64_t>(requested_at.number) : std::nullopt;
  return std::nullopt;
}

std::string request_json(std::string_view request_id, std::string_view coupon_id,
                         std::string_view user_id, std::optional<int64_t> requested_at) {
  std::string out = "{";
  if (!request_id.empty()) {
    out += "\"requestId\":";
    append_json_string(out, request_id);
    out += ',';
  }
  out += "\"couponId\":";
  append_json_string(out, coupon_id);
  out += ",\"userId\":";
  append_json_string(out, user_id);
  if (requested_at) fmt::format_to(std::back_inserter(out), ",\"requestedAt\":{}", *requested_at);
  out += '}';
  return out;
}

}  // namespace couponflow::coupon
