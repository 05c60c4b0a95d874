#include "ops/signals.h"

#include <signal.h>

namespace couponflow::ops {
namespace {
std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop.store(true); }  // lock-free atomic store is async-signal-safe
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

}  // namespace couponflow::ops
