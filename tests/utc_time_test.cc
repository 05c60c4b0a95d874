// UTC times typed by people (reset --to-datetime): only the exact ISO 8601 forms are
// read, and never as a nearby time. Before, sscanf and timegm read February 31 as March
// 3, hour -1 as the day before, a one-digit month or a leading space as if it were
// well formed, and a year before 1970 as a negative timestamp (negative timestamps have
// special meanings in Kafka's offset lookups).

#include <doctest/doctest.h>

#include <limits>
#include <random>
#include <string>

#include "common/utc_time.h"

using namespace couponflow;

TEST_CASE("UTC times in the exact ISO 8601 forms read as milliseconds since the epoch") {
  CHECK(parse_utc_millis("1970-01-01T00:00:00Z") == 0);
  CHECK(parse_utc_millis("1970-01-01T00:00:00.001Z") == 1);
  CHECK(parse_utc_millis("2026-11-29T10:00:00Z") == 1'795'946'400'000);
  CHECK(parse_utc_millis("2026-11-29T10:00:00.250Z") == 1'795'946'400'250);
  CHECK(parse_utc_millis("2000-02-29T23:59:59.999Z") == 951'868'799'999);  // a leap day
  CHECK(parse_utc_millis("2400-02-29T00:00:00Z") == 13'574'563'200'000);   // a century divisible by 400
  CHECK(parse_utc_millis("9999-12-31T23:59:59.999Z") == 253'402'300'799'999);
}

TEST_CASE("a UTC time that is not exactly well formed is refused, not read as a nearby time") {
  for (const char* text : {
           "",
           "Z",
           "2026-02-31T00:00:00Z",      // February 31: timegm made it March 3
           "2026-02-29T00:00:00Z",      // not a leap year
           "2100-02-29T00:00:00Z",      // nor is a century not divisible by 400
           "2026-04-31T00:00:00Z",      // April has 30 days
           "2026-00-10T00:00:00Z",      // month 0
           "2026-13-10T00:00:00Z",      // month 13
           "2026-11-00T00:00:00Z",      // day 0
           "2026-11-29T-1:00:00Z",      // hour -1: the day before at 23:00
           "2026-11-29T24:00:00Z",      // hour 24
           "2026-11-29T10:60:00Z",      // minute 60
           "2026-11-29T10:00:60Z",      // a leap second: Unix time has none
           "2026-1-29T10:00:00Z",       // a one-digit month
           " 2026-11-29T10:00:00Z",     // a leading space
           "+2026-11-29T10:00:00Z",     // a sign
           "2026-11-29T10:00:00",       // no zone
           "2026-11-29T10:00:00+00:00",  // another zone notation
           "2026-11-29 10:00:00Z",      // no T
           "2026-11-29T10:00:00.25Z",   // two-digit milliseconds
           "2026-11-29T10:00:00.-12Z",  // negative milliseconds
           "2026-11-29T10:00:00.2500Z",  // four digits
           "2026-11-29T10:00:00Zjunk",  // trailing text
           "1969-12-31T23:59:59Z",      // before the epoch: a negative timestamp
           "0000-01-01T00:00:00Z",
       }) {
    INFO(text);
    CHECK_FALSE(parse_utc_millis(text).has_value());
  }
}

TEST_CASE("a formatted UTC time reads back as the same milliseconds") {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int64_t> millis(0, 253'402'300'799'999);
  for (int i = 0; i < 100'000; ++i) {
    const int64_t t = i < 2 ? i * 253'402'300'799'999 : millis(rng);
    INFO(t);
    REQUIRE(parse_utc_millis(format_utc_millis(t)) == t);
  }
  CHECK(format_utc_millis(1'795'946'400'250) == "2026-11-29T10:00:00.250Z");
  CHECK(format_utc_millis(kLastUtcMillis) == "9999-12-31T23:59:59.999Z");
}

TEST_CASE("a time no UTC date holds is written as its milliseconds, never as a wrong date") {
  // INT64_MAX is what the fleet tools use for "still running".
  for (const int64_t t : {int64_t{-1000}, kLastUtcMillis + 1, std::numeric_limits<int64_t>::max(),
                          std::numeric_limits<int64_t>::min()}) {
    INFO(t);
    CHECK(format_utc_millis(t) == std::to_string(t) + "ms");
    CHECK_FALSE(parse_utc_millis(format_utc_millis(t)).has_value());
  }
}
