// Changelog and stored-value decoding: holding keys and values, counts, definitions, and
// verify's reading of the changelog. Never a crash; a holding round-trips.

#include <cstdlib>

#include "ops/verify/invariant_checker.h"
#include "tests/fuzz/fuzz_input.h"
#include "topology/coupon/catalog.h"
#include "topology/coupon/issued_state.h"

using namespace couponflow;
using namespace couponflow::coupon;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::FuzzInput in(data, size);
  const auto key = in.piece();
  const auto value = in.piece();
  if (key) {
    if (auto coupon = coupon_of_holding_key(*key)) {
      std::string rebuilt;
      holding_key(rebuilt, *coupon, key->substr(4 + coupon->size()));
      if (rebuilt != *key) std::abort();
    }
  }
  if (value) {
    (void)decode_count(*value);
    (void)decode_definition(*value);
    if (auto holding = decode_holding(*value)) {
      std::string encoded;
      encode_holding(encoded, holding->issue_no, holding->identity);
      if (encoded != *value) std::abort();
    }
  }
  ops::InvariantChecker checker("coupon-issuance", 4);
  kafka::ReadRecord record;
  record.topic = "coupon-processor-issued-changelog";
  if (key) record.key.emplace(*key);
  if (value) record.value.emplace(*value);
  checker.add_holding(record);
  (void)checker.check();
  return 0;
}
