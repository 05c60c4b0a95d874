#pragma once
// The coupon catalog (value of coupon-catalog), what each of its records means, and the
// compact form a definition is stored in.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/types.h"
#include "topology/topology.h"

namespace couponflow::coupon {

struct CouponDefinition {
  int64_t capacity = 0;
  std::optional<int64_t> opens_at;   // epoch ms; requests before it are NOT_OPEN
  std::optional<int64_t> closes_at;  // epoch ms; requests at or after it are CLOSED

  bool operator==(const CouponDefinition&) const = default;
};

/// Why a catalog record is not a definition (contract v2, Catalog). Such a record is
/// skipped: the coupon keeps its previous definition.
enum class CatalogSkip {
  kNoKey,         // no key, or an empty one
  kTooLarge,      // the value exceeds the size limit
  kMalformed,     // not one JSON object: binary, not UTF-8, too deep, a field twice, ...
  kInvalidField,  // couponId missing or not the key, capacity missing or negative, wrong types
  kMisplaced,     // in a partition murmur2 does not map its key to
};
std::string_view to_string(CatalogSkip skip);

/// Where a catalog record sits and the limit its value must respect.
struct CatalogPlacement {
  Partition partition;
  int32_t partition_count = 0;  // 0: placement is not checked
  size_t max_value_bytes = 16 * 1024;
};

/// What one catalog record means. Never throws, whatever the bytes.
struct CatalogChange {
  enum class Kind { kDefine, kDelete, kSkip };
  Kind kind = Kind::kSkip;
  CouponDefinition definition;  // kDefine
  CatalogSkip skip = CatalogSkip::kMalformed;  // kSkip
  std::string reason;                          // kSkip: a sentence for people
};
CatalogChange read_catalog_record(std::optional<std::string_view> key, std::optional<std::string_view> value,
                                  const CatalogPlacement& placement);

/// The fixed-size binary form kept in the catalog store (no JSON on the hot path).
std::string encode_definition(const CouponDefinition& d);
std::optional<CouponDefinition> decode_definition(std::string_view bytes);

/// The table materializer of the catalog source: a definition is stored, a tombstone
/// deletes, anything else is skipped (read_catalog_record).
topology::TableMaterializer catalog_materializer(size_t max_value_bytes);

/// The catalog value as JSON, for publishers (the CLI, demo and tests).
std::string catalog_json(std::string_view coupon_id, const CouponDefinition& d);

}  // namespace couponflow::coupon
