#pragma once
// SIGINT/SIGTERM -> a stop flag that the long-running commands poll.

#include <atomic>

namespace couponflow::ops {

/// Installs handlers for SIGINT and SIGTERM (once) and returns the flag they set.
const std::atomic<bool>& install_stop_signals();

}  // namespace couponflow::ops
