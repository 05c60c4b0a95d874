// Catalog record decoding (contract v2: a record that is not a definition is skipped):
// never a crash, and a definition round-trips through the stored form and the JSON.

#include <cstdlib>

#include "tests/fuzz/fuzz_input.h"
#include "topology/coupon/catalog.h"

using namespace couponflow;
using namespace couponflow::coupon;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::FuzzInput in(data, size);
  const uint8_t choices = in.byte();
  const auto key = in.piece();
  std::optional<std::string_view> value = in.rest();
  if (choices & 1) value.reset();  // a tombstone
  const CatalogPlacement placement{Partition{choices >> 4}, (choices >> 1) & 7, 4096};
  const CatalogChange change = read_catalog_record(key, value, placement);
  if (change.kind != CatalogChange::Kind::kDefine) return 0;
  if (decode_definition(encode_definition(change.definition)) != change.definition) std::abort();
  const CatalogChange again = read_catalog_record(key, catalog_json(*key, change.definition), {});
  if (again.kind != CatalogChange::Kind::kDefine || again.definition != change.definition) std::abort();
  return 0;
}
