#include "topology/coupon/catalog.h"

#include <array>
#include <cstring>

#include <fmt/format.h>

#include "topology/coupon/json_object.h"

namespace couponflow::coupon {

std::optional<CouponDefinition> parse_catalog(std::string_view key, std::string_view value,
                                              std::string& error) {
  // Catalog records are rare, so a reader per thread is plenty.
  thread_local JsonObjectReader reader;
  std::array<JsonField, 4> fields{JsonField{"couponId", JsonType::kString},
                                  JsonField{"capacity", JsonType::kInt64},
                                  JsonField{"opensAt", JsonType::kInt64},
                                  JsonField{"closesAt", JsonType::kInt64}};
  if (auto err = reader.read(value, fields)) {
    error = err->message;
    return std::nullopt;
  }
  const auto& [coupon_id, capacity, opens_at, closes_at] = fields;
  if (!coupon_id.present || coupon_id.text != key) {
    error = fmt::format("couponId must be present and equal the record key '{}'", key);
    return std::nullopt;
  }
  if (!capacity.present || capacity.number < 0) {
    error = "capacity must be a non-negative integer";
    return std::nullopt;
  }
  CouponDefinition d;
  d.capacity = capacity.number;
  if (opens_at.present) d.opens_at = opens_at.number;
  if (closes_at.present) d.closes_at = closes_at.number;
  return d;
}

namespace {
// Layout: capacity, opensAt, closesAt as little-endian int64, then a presence byte.
constexpr size_t kEncodedSize = 3 * sizeof(int64_t) + 1;
}  // namespace

std::string encode_definition(const CouponDefinition& d) {
  std::string out(kEncodedSize, '\0');
  const int64_t values[3] = {d.capacity, d.opens_at.value_or(0), d.closes_at.value_or(0)};
  std::memcpy(out.data(), values, sizeof values);
  out[sizeof values] = static_cast<char>((d.opens_at ? 1 : 0) | (d.closes_at ? 2 : 0));
  return out;
}

std::optional<CouponDefinition> decode_definition(std::string_view bytes) {
  if (bytes.size() != kEncodedSize) return std::nullopt;
  int64_t values[3];
  std::memcpy(values, bytes.data(), sizeof values);
  const auto flags = static_cast<unsigned char>(bytes[sizeof values]);
  CouponDefinition d;
  d.capacity = values[0];
  if (flags & 1) d.opens_at = values[1];
  if (flags & 2) d.closes_at = values[2];
  return d;
}

topology::TableUpdate materialize_catalog(std::optional<std::string_view> key,
                                          std::optional<std::string_view> value) {
  using Kind = topology::TableUpdate::Kind;
  if (!key || key->empty()) return {Kind::kSkip, {}, "catalog record without a key"};
  if (!value) return {Kind::kDelete, {}, {}};
  std::string error;
  auto d = parse_catalog(*key, *value, error);
  if (!d) return {Kind::kSkip, {}, "invalid catalog value: " + error};
  return {Kind::kPut, encode_definition(*d), {}};
}

std::string catalog_json(std::string_view coupon_id, const CouponDefinition& d) {
  std::string out = "{\"couponId\":";
  append_json_string(out, coupon_id);
  fmt::format_to(std::back_inserter(out), ",\"capacity\":{}", d.capacity);
  if (d.opens_at) fmt::format_to(std::back_inserter(out), ",\"opensAt\":{}", *d.opens_at);
  if (d.closes_at) fmt::format_to(std::back_inserter(out), ",\"closesAt\":{}", *d.closes_at);
  out += '}';
  return out;
}

}  // namespace couponflow::coupon
