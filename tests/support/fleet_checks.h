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

}  // namespace couponflow::testing
