#pragma once
// What a measured window cost the whole process (every thread: librdkafka's and
// RocksDB's included): CPU time, the system's part of it, and page faults. CPU time
// holds on a noisy machine where wall time does not; the faults count memory touched
// for the first time, which costs several times more on some virtual machines than on
// others (a fault is ~5-7 us of system time on some of this project's machines).

#include <sys/resource.h>

#include <cstdint>

namespace couponflow::bench {

struct ProcessUsage {
  double cpu_seconds = 0;     // user + system
  double system_seconds = 0;  // of which in the kernel
  int64_t faults = 0;         // minor + major

  static ProcessUsage now() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6; };
    return {s(u.ru_utime) + s(u.ru_stime), s(u.ru_stime), static_cast<int64_t>(u.ru_minflt + u.ru_majflt)};
  }

  /// The usage between `earlier` and this.
  ProcessUsage since(const ProcessUsage& earlier) const {
    return {cpu_seconds - earlier.cpu_seconds, system_seconds - earlier.system_seconds, faults - earlier.faults};
  }
};

}  // namespace couponflow::bench
