// What the api decodes from outside: instance claims read from the instances topic, and
// request targets (paths, percent escapes, query parameters). Never a crash; a claim
// that parses round-trips; whatever decodes re-encodes to something that decodes the same.

#include <cstdlib>

#include "ops/api/instance_claim.h"
#include "ops/http/url.h"
#include "tests/fuzz/fuzz_input.h"

using namespace couponflow;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::FuzzInput in(data, size);
  const uint8_t choice = in.byte();
  const std::string_view text = in.rest();
  if (choice & 1) {
    std::string error;
    const auto claim = ops::parse_claim(text, error);
    if (!claim) return 0;
    const auto again = ops::parse_claim(ops::encode_claim(*claim), error);
    if (!again || again->address != claim->address || again->instance != claim->instance ||
        again->running != claim->running || again->restoring != claim->restoring) {
      std::abort();
    }
    return 0;
  }
  if (auto decoded = ops::percent_decode(text)) {
    if (ops::percent_decode(ops::percent_encode(*decoded)) != decoded) std::abort();
  }
  if (auto segments = ops::path_segments(text)) {
    if (segments->empty()) std::abort();
  }
  (void)ops::query_parameter(text, "wait");
  return 0;
}
