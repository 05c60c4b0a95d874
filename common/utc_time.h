#pragma once
// UTC times as people type them (ISO 8601, "2026-11-29T10:00:00Z" or with milliseconds
// "2026-11-29T10:00:00.250Z") and as Kafka counts them (milliseconds since the epoch).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace couponflow {

/// The milliseconds since the epoch of `text`, which must be exactly
/// YYYY-MM-DDTHH:MM:SSZ or YYYY-MM-DDTHH:MM:SS.mmmZ: every field its full width of
/// digits, a day that exists in its month (leap years counted), hours 00-23, seconds
/// 00-59, years 1970-9999. Anything else is nullopt, never a nearby time: a date like
/// February 31 is an error, not March 3, and no time before the epoch (negative
/// timestamps are special values in Kafka's offset lookups) is returned.
std::optional<int64_t> parse_utc_millis(std::string_view text);

/// The last millisecond of 9999-12-31 (UTC): the latest time parse_utc_millis reads.
inline constexpr int64_t kLastUtcMillis = 253'402'300'799'999;

/// `millis` since the epoch as YYYY-MM-DDTHH:MM:SS.mmmZ, which parse_utc_millis reads
/// back, for 0 <= millis <= kLastUtcMillis. Any other value is written as its number of
/// milliseconds ("-1000ms"): no calendar date holds it in that form, and a date computed
/// for it would be wrong (the standard library's calendar types stop near year 32767).
std::string format_utc_millis(int64_t millis);

}  // namespace couponflow
