#pragma once
// The instance's HTTP endpoint: /metrics (Prometheus), /healthz, /readyz, and whatever
// else the instance serves on the same port (interactive queries).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "ops/http/http_server.h"

namespace prometheus {
class Registry;
}

namespace couponflow::ops {

/// The answer of a health or readiness probe.
struct Probe {
  bool ok = false;
  std::string detail;  // the reason when not ok
};

/// Role: answers GET /metrics (the registry and the process's own series,
/// ProcessCollector, in Prometheus text format 0.0.4), GET /healthz and GET /readyz (200
/// when the probe is ok, else 503 with its reason). Shared by every server that exposes
/// them (`process`, `api`). Thread: any; the probes must be thread-safe.
class StatusEndpoints {
 public:
  StatusEndpoints(std::shared_ptr<prometheus::Registry> registry, std::function<Probe()> health,
                  std::function<Probe()> readiness);
  ~StatusEndpoints();
  /// The answer if `request` is for one of them, else nullopt.
  std::optional<HttpResponse> answer(const HttpRequest& request) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Role: serves StatusEndpoints on HOST:PORT, and hands every other request to `more`
/// (404 without it). Ours rather than prometheus-cpp's Exposer, which serves only the
/// metrics path: orchestrators and load balancers expect health and readiness on the
/// same port. HTTP/1.1 keep-alive with an idle timeout (HttpServer), so a scraper
/// holding its connection open does not block a probe.
/// Errors: the constructor throws FatalError when it cannot listen.
class StatusServer {
 public:
  /// `listen`: HOST:PORT (port 0 picks a free one, see port()).
  StatusServer(const std::string& listen, std::shared_ptr<prometheus::Registry> registry,
               std::function<Probe()> health, std::function<Probe()> readiness, HttpHandler more = {});
  ~StatusServer();
  StatusServer(const StatusServer&) = delete;
  StatusServer& operator=(const StatusServer&) = delete;

  std::string host() const { return server_->host(); }
  uint16_t port() const { return server_->port(); }
  /// Stops serving (before what `more` uses goes away).
  void stop() { server_->stop(); }

 private:
  std::shared_ptr<StatusEndpoints> endpoints_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace couponflow::ops
