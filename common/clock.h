#pragma once
// Wall-clock source. The runtime uses the system clock; the test driver a manual one, so
// tests that check decidedAt are deterministic.

#include <atomic>
#include <chrono>

#include "common/types.h"

namespace couponflow {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual EpochMillis now_ms() const = 0;
};

class SystemClock final : public Clock {
 public:
  EpochMillis now_ms() const override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(EpochMillis start) : now_(start) {}
  EpochMillis now_ms() const override { return now_.load(); }
  void set(EpochMillis t) { now_ = t; }
  void advance(EpochMillis delta) { now_ += delta; }

 private:
  std::atomic<EpochMillis> now_;
};

}  // namespace couponflow
