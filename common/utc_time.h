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

/// `millis` since the epoch as YYYY-MM-DDTHH:MM:SS.mmmZ (which parse_utc_millis reads back).
std::string format_utc_millis(int64_t millis);

}  // namespace couponflow
