#pragma once
// The instance's HTTP endpoint: /metrics (Prometheus), /healthz, /readyz.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace prometheus {
class Registry;
}

namespace couponflow::ops {

/// The answer of a health or readiness probe.
struct Probe {
  bool ok = false;
  std::string detail;  // the reason when not ok
};

/// Role: serves GET /metrics (the registry and the process's own series, ProcessCollector,
/// in Prometheus text format 0.0.4), GET
/// /healthz and GET /readyz (200 when the probe is ok, else 503 with its reason).
/// Ours rather than prometheus-cpp's Exposer, which serves only the metrics path:
/// orchestrators and load balancers expect health and readiness on the same port.
/// Boost.Beast on one thread of its own (Asio coroutines), HTTP/1.1 keep-alive with an
/// idle timeout, so a scraper holding its connection open does not block a probe.
/// Thread: its own; the probes are called from it and must be thread-safe.
/// Errors: the constructor throws FatalError when it cannot listen.
class StatusServer {
 public:
  /// `listen`: HOST:PORT (port 0 picks a free one, see port()).
  StatusServer(const std::string& listen, std::shared_ptr<prometheus::Registry> registry,
               std::function<Probe()> health, std::function<Probe()> readiness);
  ~StatusServer();
  StatusServer(const StatusServer&) = delete;
  StatusServer& operator=(const StatusServer&) = delete;

  uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace couponflow::ops
