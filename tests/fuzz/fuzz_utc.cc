// UTC times typed by people (reset --to-datetime): never a crash, and only the exact
// forms are read. A text that parses is exactly what the formatter writes for its value
// (with or without the milliseconds), so no malformed or out-of-range text can be read
// as some nearby time.

#include <cstdlib>
#include <string>

#include "common/utc_time.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto millis = couponflow::parse_utc_millis(text);
  if (!millis) return 0;
  if (*millis < 0) std::abort();
  const std::string written = couponflow::format_utc_millis(*millis);
  // The 20-byte form is the 24-byte one without ".000".
  const bool same = text == written || (text.size() == 20 && written.ends_with(".000Z") &&
                                        text.substr(0, 19) == std::string_view(written).substr(0, 19) &&
                                        text.back() == 'Z');
  if (!same || couponflow::parse_utc_millis(written) != millis) std::abort();
  return 0;
}
