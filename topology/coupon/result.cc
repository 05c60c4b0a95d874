#include "topology/coupon/result.h"

#include <array>
#include <charconv>

#include <fmt/format.h>

#include "topology/coupon/json_object.h"

namespace couponflow::coupon {

namespace {
void append_int(std::string& out, int64_t n) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
  out.append(digits, end);
}
}  // namespace

// Written by hand, not with fmt: this runs once per decision on the hot path.
void write_result_json(std::string& out, const ResultView& r) {
  out.clear();
  out += "{\"requestId\":";
  append_json_string(out, r.request_id);
  out += ",\"couponId\":";
  append_json_string(out, r.coupon_id);
  out += ",\"userId\":";
  append_json_string(out, r.user_id);
  if (r.accepted) {
    out += ",\"status\":\"ACCEPTED\",\"issueNo\":";
    append_int(out, r.issue_no);
  } else {
    out += ",\"status\":\"REJECTED\",\"reason\":\"";
    out += r.reason;
    out += '"';
  }
  if (r.requested_at) {
    out += ",\"requestedAt\":";
    append_int(out, *r.requested_at);
  }
  out += ",\"decidedAt\":";
  append_int(out, r.decided_at);
  out += ",\"partition\":";
  append_int(out, r.partition);
  out += ",\"offset\":";
  append_int(out, r.offset);
  out += '}';
}

void write_result_json(std::string& out, const CouponResult& r) {
  write_result_json(out, ResultView{r.request_id, r.coupon_id, r.user_id, r.accepted, r.issue_no,
                                    r.reason, r.requested_at, r.decided_at, r.partition, r.offset});
}

std::optional<CouponResult> parse_result(std::string_view json, std::string& error) {
  thread_local JsonObjectReader reader;
  std::array<JsonField, 10> f{
      JsonField{"requestId", JsonType::kString}, JsonField{"couponId", JsonType::kString},
      JsonField{"userId", JsonType::kString},    JsonField{"status", JsonType::kString},
      JsonField{"issueNo", JsonType::kInt64},    JsonField{"reason", JsonType::kString},
      JsonField{"requestedAt", JsonType::kInt64}, JsonField{"decidedAt", JsonType::kInt64},
      JsonField{"partition", JsonType::kInt64},  JsonField{"offset", JsonType::kInt64}};
  if (auto err = reader.read(json, f)) {
    error = err->message;
    return std::nullopt;
  }
  for (size_t required : {0, 1, 2, 3, 7, 8, 9}) {
    if (!f[required].present) {
      error = fmt::format("result without \"{}\"", f[required].name);
      return std::nullopt;
    }
  }
  CouponResult r;
  r.request_id = std::move(f[0].text);
  r.coupon_id = std::move(f[1].text);
  r.user_id = std::move(f[2].text);
  if (f[3].text == "ACCEPTED") {
    if (!f[4].present) {
      error = "ACCEPTED result without issueNo";
      return std::nullopt;
    }
    r.accepted = true;
    r.issue_no = f[4].number;
  } else if (f[3].text == "REJECTED") {
    if (!f[5].present) {
      error = "REJECTED result without reason";
      return std::nullopt;
    }
    r.reason = std::move(f[5].text);
  } else {
    error = "unknown status '" + f[3].text + "'";
    return std::nullopt;
  }
  if (f[6].present) r.requested_at = f[6].number;
  r.decided_at = f[7].number;
  r.partition = static_cast<int32_t>(f[8].number);
  r.offset = f[9].number;
  return r;
}

}  // namespace couponflow::coupon
