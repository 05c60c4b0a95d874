#pragma once
// Checks on a fleet of processes that say, when they fail, what the process said.

#include <doctest/doctest.h>

#include <optional>
#include <string>

#include "ops/fleet.h"

namespace couponflow::testing {

/// Stops instance `name` (SIGTERM) and checks that it exited with 0 in time. If not, the
/// failure carries the end of its log: the test's directory, logs included, is deleted
/// when the test ends.
inline void check_graceful_stop(ops::Fleet& fleet, const std::string& name) {
  const std::optional<int> code = fleet.stop(name);
  CHECK_MESSAGE(code == 0, "instance " << name
                                       << (code ? " exited with " + std::to_string(*code) : std::string(" did not stop in time"))
                                       << "; its log ends:\n"
                                       << fleet.log_tail(name));
}

/// Checks that each partition ran in one place at a time (one thread of one instance),
/// over at least `partitions` periods of ownership.
inline void check_one_owner_at_a_time(const ops::Fleet& fleet, int partitions) {
  const auto periods = fleet.ownership();
  CHECK(periods.size() >= static_cast<size_t>(partitions));
  for (size_t i = 0; i < periods.size(); ++i) {
    for (size_t j = i + 1; j < periods.size(); ++j) {
      const auto& x = periods[i];
      const auto& y = periods[j];
      if (x.partition != y.partition) continue;
      const bool overlap = x.from_ms < y.to_ms && y.from_ms < x.to_ms;
      CHECK_MESSAGE(!overlap, "partition " << x.partition << " ran on " << x.instance << " [" << x.from_ms << ", "
                                           << x.to_ms << ") and on " << y.instance << " [" << y.from_ms << ", "
                                           << y.to_ms << ")");
    }
  }
}

}  // namespace couponflow::testing
