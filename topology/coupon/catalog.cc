#include "topology/coupon/catalog.h"

#include <array>
#include <cstring>

#include <fmt/format.h>

#include "common/murmur2.h"
#include "topology/coupon/json_object.h"

namespace couponflow::coupon {

std::string_view to_string(CatalogSkip skip) {
  switch (skip) {
    case CatalogSkip::kNoKey: return "NO_KEY";
    case CatalogSkip::kTooLarge: return "TOO_LARGE";
    case CatalogSkip::kMalformed: return "MALFORMED";
    case CatalogSkip::kInvalidField: return "INVALID_FIELD";
    case CatalogSkip::kMisplaced: return "MISPLACED";
  }
  return "UNKNOWN";
}

CatalogChange read_catalog_record(std::optional<std::string_view> key, std::optional<std::string_view> value,
                                  const CatalogPlacement& placement) {
  auto skip = [](CatalogSkip why, std::string reason) {
    CatalogChange c;
    c.skip = why;
    c.reason = std::move(reason);
    return c;
  };
  if (!key || key->empty()) return skip(CatalogSkip::kNoKey, "a catalog record needs the coupon id as its key");
  if (placement.partition_count > 0) {
    const Partition home = murmur2_partition(*key, placement.partition_count);
    if (home != placement.partition) {
      return skip(CatalogSkip::kMisplaced, fmt::format("its key belongs to partition {}, not {}", home,
                                                       placement.partition));
    }
  }
  if (!value) {
    CatalogChange c;
    c.kind = CatalogChange::Kind::kDelete;
    return c;
  }
  if (value->size() > placement.max_value_bytes) {
    return skip(CatalogSkip::kTooLarge, fmt::format("value of {} bytes exceeds the limit of {} bytes", value->size(),
                                                    placement.max_value_bytes));
  }
  // Catalog records are rare, so a reader per thread is plenty.
  thread_local JsonObjectReader reader;
  std::array<JsonField, 4> fields{JsonField{"couponId", JsonType::kString},
                                  JsonField{"capacity", JsonType::kInt64},
                                  JsonField{"opensAt", JsonType::kInt64},
                                  JsonField{"closesAt", JsonType::kInt64}};
  if (auto err = reader.read(*value, fields)) {
    return skip(err->kind == JsonError::Kind::kInvalidField ? CatalogSkip::kInvalidField : CatalogSkip::kMalformed,
                std::move(err->message));
  }
  const auto& [coupon_id, capacity, opens_at, closes_at] = fields;
  if (!coupon_id.present || coupon_id.text != *key) {
    return skip(CatalogSkip::kInvalidField, "couponId must be present and equal the record key");
  }
  if (!capacity.present || capacity.number < 0) {
    return skip(CatalogSkip::kInvalidField, "capacity must be an integer >= 0");
  }
  CatalogChange c;
  c.kind = CatalogChange::Kind::kDefine;
  c.definition.capacity = capacity.number;
  if (opens_at.present) c.definition.opens_at = opens_at.number;
  if (closes_at.present) c.definition.closes_at = closes_at.number;
  return c;
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

topology::TableMaterializer catalog_materializer(size_t max_value_bytes) {
  return [max_value_bytes](const topology::TableRecord& r) {
    using Kind = topology::TableUpdate::Kind;
    const CatalogChange c =
        read_catalog_record(r.key, r.value, CatalogPlacement{r.partition, r.partition_count, max_value_bytes});
    switch (c.kind) {
      case CatalogChange::Kind::kDefine: return topology::TableUpdate{Kind::kPut, encode_definition(c.definition), {}, {}};
      case CatalogChange::Kind::kDelete: return topology::TableUpdate{Kind::kDelete, {}, {}, {}};
      case CatalogChange::Kind::kSkip: break;
    }
    return topology::TableUpdate{Kind::kSkip, {}, c.reason, std::string(to_string(c.skip))};
  };
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
