#include "ops/signals.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "common/log.h"

namespace couponflow::ops {
namespace {
std::atomic<bool> g_stop{false};

// Only async-signal-safe calls: a lock-free atomic exchange, write(2), _exit(2).
void on_signal(int signal_number) {
  if (g_stop.exchange(true)) {
    constexpr char kMessage[] = "couponflow: second signal while stopping: exiting at once\n";
    [[maybe_unused]] const auto written = ::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
    ::_exit(128 + signal_number);
  }
}
}  // namespace

const std::atomic<bool>& install_stop_signals() {
  static const bool installed = [] {
    struct sigaction sa{};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
    return true;
  }();
  (void)installed;
  return g_stop;
}

void exit_if_stop_exceeds(const std::atomic<bool>& stop, int64_t timeout_ms) {
  std::thread([&stop, timeout_ms] {
    while (!stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::this_thread::sleep_for(std::chrono::milliseconds(timeout_ms));
    log::error("the graceful stop took longer than shutdown.timeout.ms ({} ms): exiting without finishing it; "
               "what was not committed is replayed at the next start",
               timeout_ms);
    ::_exit(1);
  }).detach();
}

}  // namespace couponflow::ops
