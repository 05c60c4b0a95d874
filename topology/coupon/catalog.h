#pragma once
// The coupon catalog (value of coupon-catalog) and its compact stored form.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "topology/topology.h"

namespace couponflow::coupon {

struct CouponDefinition {
  int64_t capacity = 0;
  std::optional<int64_t> opens_at;   // epoch ms; requests before it are NOT_OPEN
  std::optional<int64_t> closes_at;  // epoch ms; requests at or after it are CLOSED

  bool operator==(const CouponDefinition&) const = default;
};

/// Parses a catalog value published under `key`; nullopt with `error` set when the
/// value is not a valid definition (bad JSON, couponId missing or different from the
/// key, capacity missing or negative).
std::optional<CouponDefinition> parse_catalog(std::string_view key, std::string_view value,
                                              std::string& error);

/// The fixed-size binary form kept in the catalog store (no JSON on the hot path).
std::string encode_definition(const CouponDefinition& d);
std::optional<CouponDefinition> decode_definition(std::string_view bytes);

/// The table materializer of the catalog source: catalog JSON -> stored definition,
/// null value -> delete, invalid -> skipped and logged.
topology::TableUpdate materialize_catalog(std::optional<std::string_view> key,
                                          std::optional<std::string_view> value);

/// The catalog value as JSON, for publishers (the CLI, demo and tests).
std::string catalog_json(std::string_view coupon_id, const CouponDefinition& d);

}  // namespace couponflow::coupon
