#include "ops/api/instance_claim.h"

#include <fmt/format.h>

#include <array>
#include <iterator>

#include "common/json_string.h"
#include "common/parse_number.h"
#include "topology/coupon/json_object.h"

namespace couponflow::ops {

namespace {
constexpr size_t kMaxClaimBytes = 256 * 1024;  // 10k partitions with their times fit

// Calls fn for each comma-separated item; false if fn refuses one.
template <typename Fn>
bool for_each_item(std::string_view list, Fn&& fn) {
  if (list.empty()) return true;
  size_t start = 0;
  for (;;) {
    const size_t comma = list.find(',', start);
    if (!fn(list.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start))) return false;
    if (comma == std::string_view::npos) return true;
    start = comma + 1;
  }
}
}  // namespace

std::string instances_topic(std::string_view application_id) { return fmt::format("{}-instances", application_id); }

std::string encode_claim(const InstanceClaim& claim) {
  std::string out = "{\"instance\":";
  append_json_string(out, claim.instance);
  out += ",\"address\":";
  append_json_string(out, claim.address);
  fmt::format_to(std::back_inserter(out), ",\"updatedAt\":{},\"running\":\"", claim.updated_at);
  for (size_t i = 0; i < claim.running.size(); ++i) {
    fmt::format_to(std::back_inserter(out), "{}{}@{}", i ? "," : "", claim.running[i].partition, claim.running[i].since);
  }
  out += "\",\"restoring\":\"";
  for (size_t i = 0; i < claim.restoring.size(); ++i) {
    fmt::format_to(std::back_inserter(out), "{}{}", i ? "," : "", claim.restoring[i]);
  }
  out += "\"}";
  return out;
}

std::optional<InstanceClaim> parse_claim(std::string_view json, std::string& error) {
  thread_local coupon::JsonObjectReader reader(kMaxClaimBytes);
  using coupon::JsonField;
  using coupon::JsonType;
  std::array<JsonField, 5> fields{JsonField{"instance", JsonType::kString}, JsonField{"address", JsonType::kString},
                                  JsonField{"updatedAt", JsonType::kInt64}, JsonField{"running", JsonType::kString},
                                  JsonField{"restoring", JsonType::kString}};
  if (auto e = reader.read(json, fields)) {
    error = e->message;
    return std::nullopt;
  }
  if (!fields[1].present || fields[1].text.empty()) {
    error = "no address";
    return std::nullopt;
  }
  InstanceClaim claim;
  claim.instance = fields[0].text;
  claim.address = fields[1].text;
  claim.updated_at = fields[2].number;
  const bool running_ok = for_each_item(fields[3].text, [&](std::string_view item) {
    const size_t at = item.find('@');
    if (at == std::string_view::npos) return false;
    auto p = parse_number<int32_t>(item.substr(0, at));
    auto since = parse_number<int64_t>(item.substr(at + 1));
    if (!p || *p < 0 || !since) return false;
    claim.running.push_back({*p, *since});
    return true;
  });
  const bool restoring_ok = for_each_item(fields[4].text, [&](std::string_view item) {
    auto p = parse_number<int32_t>(item);
    if (!p || *p < 0) return false;
    claim.restoring.push_back(*p);
    return true;
  });
  if (!running_ok || !restoring_ok) {
    error = "malformed partition list";
    return std::nullopt;
  }
  return claim;
}

}  // namespace couponflow::ops
