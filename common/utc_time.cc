#include "common/utc_time.h"

#include <chrono>

#include <fmt/format.h>

namespace couponflow {
namespace {

/// The number written with exactly `width` decimal digits at `pos`, or nullopt.
std::optional<int> digits(std::string_view text, size_t pos, size_t width) {
  int n = 0;
  for (size_t i = pos; i < pos + width; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    n = n * 10 + (text[i] - '0');
  }
  return n;
}

}  // namespace

std::optional<int64_t> parse_utc_millis(std::string_view text) {
  using namespace std::chrono;
  // YYYY-MM-DDTHH:MM:SS is 19 bytes; then "Z" or ".mmmZ".
  constexpr size_t kSeconds = 19;
  if (text.size() != kSeconds + 1 && text.size() != kSeconds + 5) return std::nullopt;
  if (text.back() != 'Z') return std::nullopt;
  for (auto [pos, sep] : {std::pair<size_t, char>{4, '-'}, {7, '-'}, {10, 'T'}, {13, ':'}, {16, ':'}}) {
    if (text[pos] != sep) return std::nullopt;
  }
  const auto y = digits(text, 0, 4), mo = digits(text, 5, 2), d = digits(text, 8, 2);
  const auto h = digits(text, 11, 2), mi = digits(text, 14, 2), s = digits(text, 17, 2);
  if (!y || !mo || !d || !h || !mi || !s) return std::nullopt;
  std::optional<int> ms = 0;
  if (text.size() == kSeconds + 5) {
    if (text[kSeconds] != '.') return std::nullopt;
    ms = digits(text, kSeconds + 1, 3);
    if (!ms) return std::nullopt;
  }
  const year_month_day date{year{*y}, month{static_cast<unsigned>(*mo)}, day{static_cast<unsigned>(*d)}};
  if (*y < 1970 || !date.ok() || *h > 23 || *mi > 59 || *s > 59) return std::nullopt;
  // At most 9999-12-31T23:59:59.999Z (kLastUtcMillis): four digits of year.
  const auto time = sys_days{date} + hours{*h} + minutes{*mi} + seconds{*s} + milliseconds{*ms};
  return time.time_since_epoch().count();
}

std::string format_utc_millis(int64_t millis) {
  using namespace std::chrono;
  if (millis < 0 || millis > kLastUtcMillis) return fmt::format("{}ms", millis);
  const sys_time<milliseconds> time{milliseconds{millis}};
  const auto midnight = floor<days>(time);
  const year_month_day date{midnight};
  const hh_mm_ss clock{time - midnight};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()), clock.hours().count(),
                     clock.minutes().count(), clock.seconds().count(), clock.subseconds().count());
}

}  // namespace couponflow
