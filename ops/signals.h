#pragma once
// SIGINT/SIGTERM -> a stop flag that the long-running commands poll; a second signal
// while stopping exits at once.

#include <atomic>
#include <cstdint>

namespace couponflow::ops {

/// Installs handlers for SIGINT and SIGTERM (once) and returns the flag they set. The
/// first signal asks for a graceful stop; a second one ends the process at once
/// (_exit(128 + signal)), as an operator who pressed Ctrl-C twice expects. That is only
/// a crash: the state stays consistent, the next start replays what was not committed.
const std::atomic<bool>& install_stop_signals();

/// Bounds a graceful stop: once `stop` is set, the process gets `timeout_ms` to finish,
/// then it logs why and exits with status 1 (again only a crash). Runs a detached
/// watchdog thread; call once, after install_stop_signals().
void exit_if_stop_exceeds(const std::atomic<bool>& stop, int64_t timeout_ms);

}  // namespace couponflow::ops
