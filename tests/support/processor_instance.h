#pragma once
// A processor instance (what `couponflow process` runs) on a thread of the test.

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "common/log.h"
#include "processor/streams_instance.h"

namespace couponflow::testing {

/// One `process` instance running on a thread of the test.
class ProcessorInstance {
 public:
  ProcessorInstance(const topology::Topology& topology, processor::StreamsConfig config,
                    std::shared_ptr<prometheus::Registry> registry = nullptr,
                    std::shared_ptr<processor::ClientSupplier> clients = nullptr)
      : instance_(std::make_unique<processor::StreamsInstance>(topology, std::move(config), std::move(registry),
                                                                std::move(clients))) {
    runner_ = std::thread([this] {
      try {
        instance_->run(stop_);
      } catch (const std::exception& e) {
        error_ = e.what();
        log::error("processor instance stopped: {}", error_);
      }
      done_ = true;
    });
  }
  ~ProcessorInstance() { stop(); }

  /// Graceful stop (what SIGTERM does), waiting for the shutdown to finish.
  void stop() {
    stop_ = true;
    if (runner_.joinable()) runner_.join();
  }
  processor::ThreadStatus status() const { return instance_->status(); }
  const processor::StreamsInstance& instance() const { return *instance_; }
  /// The liveness heartbeat /healthz reads.
  EpochMillis last_step_ms() const { return instance_->last_step_ms(); }
  bool done() const { return done_; }
  const std::string& error() const { return error_; }

 private:
  std::unique_ptr<processor::StreamsInstance> instance_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> done_{false};
  std::string error_;
  std::thread runner_;
};

}  // namespace couponflow::testing
