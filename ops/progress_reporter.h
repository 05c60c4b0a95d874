#pragma once
// Calls a report function once a second on a thread of its own until destroyed: the
// progress lines of long-running tools (loadgen, verify), for people watching.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace couponflow::ops {

class ProgressReporter {
 public:
  /// `report` gets the seconds since construction; it runs on the reporter's thread.
  explicit ProgressReporter(std::function<void(double seconds)> report,
                            std::chrono::milliseconds interval = std::chrono::seconds(1))
      : start_(std::chrono::steady_clock::now()), thread_([this, report = std::move(report), interval] {
          std::unique_lock lock(mutex_);
          while (!stopped_cv_.wait_for(lock, interval, [this] { return stopped_; })) report(seconds());
        }) {}
  ~ProgressReporter() {
    {
      std::lock_guard lock(mutex_);
      stopped_ = true;
    }
    stopped_cv_.notify_one();
    thread_.join();
  }
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  const std::chrono::steady_clock::time_point start_;
  std::mutex mutex_;
  std::condition_variable stopped_cv_;
  bool stopped_ = false;
  std::thread thread_;  // last: started once everything above exists
};

}  // namespace couponflow::ops
