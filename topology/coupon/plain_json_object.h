#pragma once
// The JSON object reader's fast path: one flat object of plain members, read in a single
// pass without simdjson's padded copy and structural index.
//
// "Plain" is what producers of this job write: string values without escapes (any valid
// UTF-8 but control characters, '"' and '\'), integers, true/false/null, and no nesting.
// Anything else — an escape, a fraction or exponent, an integer beyond 64 bits, an
// object or array, a key given twice, any syntax error — makes it give up, and the full
// reader (simdjson) reads the input from the start. So it never rejects anything: every
// error and its message comes from the full reader, and every object it accepts is one
// the full reader accepts with the same values (tests/json_object_test.cc and
// fuzz_request compare the two).

#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "topology/coupon/json_object.h"

namespace couponflow::coupon {

/// Fills `fields` as JsonObjectReader::read would and returns true, or returns false
/// (with `fields` partly filled) when `json` is not a plain object. `keys` is scratch
/// space for the duplicate check. Loops only: no recursion, no allocation once `keys`
/// and the fields' strings have grown.
bool read_plain_object(std::string_view json, std::span<JsonField> fields, std::vector<std::string_view>& keys);

/// The first key given twice, if any (both readers refuse such objects). `keys` is
/// reordered. Few keys: compared pairwise; many: sorted.
std::optional<std::string_view> duplicate_key(std::vector<std::string_view>& keys);

}  // namespace couponflow::coupon
