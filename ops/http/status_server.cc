#include "ops/http/status_server.h"

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <sstream>

#include "common/log.h"
#include "ops/http/process_collector.h"

namespace couponflow::ops {

struct StatusEndpoints::Impl {
  std::shared_ptr<prometheus::Registry> registry;
  mutable ProcessCollector process;
  std::function<Probe()> health, readiness;
};

StatusEndpoints::StatusEndpoints(std::shared_ptr<prometheus::Registry> registry, std::function<Probe()> health,
                                 std::function<Probe()> readiness)
    : impl_(std::make_unique<Impl>()) {
  impl_->registry = std::move(registry);
  impl_->health = std::move(health);
  impl_->readiness = std::move(readiness);
}

StatusEndpoints::~StatusEndpoints() = default;

std::optional<HttpResponse> StatusEndpoints::answer(const HttpRequest& request) const {
  const std::string& path = request.path;
  if (path != "/metrics" && path != "/healthz" && path != "/readyz") return std::nullopt;
  if (request.method != "GET") {
    HttpResponse res = HttpResponse::text(405, "only GET\n");
    res.headers.emplace_back("Allow", "GET, HEAD");
    return res;
  }
  if (path == "/metrics") {
    std::ostringstream out;
    auto families = impl_->registry->Collect();
    for (auto& f : impl_->process.Collect()) families.push_back(std::move(f));
    prometheus::TextSerializer().Serialize(out, families);
    HttpResponse res = HttpResponse::text(200, out.str());
    res.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return res;
  }
  const Probe p = path == "/healthz" ? impl_->health() : impl_->readiness();
  return HttpResponse::text(p.ok ? 200 : 503, p.ok ? (path == "/healthz" ? "ok\n" : "ready\n") : p.detail + "\n");
}

StatusServer::StatusServer(const std::string& listen, std::shared_ptr<prometheus::Registry> registry,
                           std::function<Probe()> health, std::function<Probe()> readiness, HttpHandler more)
    : endpoints_(std::make_shared<StatusEndpoints>(std::move(registry), std::move(health), std::move(readiness))) {
  auto handler = [endpoints = endpoints_, more = std::move(more)](HttpRequest&& request, HttpRespond respond) {
    if (auto answer = endpoints->answer(request)) return respond(std::move(*answer));
    if (more) return more(std::move(request), std::move(respond));
    respond(HttpResponse::text(404, "not found: try /metrics, /healthz or /readyz\n"));
  };
  server_ = std::make_unique<HttpServer>(listen, std::move(handler), HttpServerOptions{.what = "/metrics"});
  log::info("serving /metrics, /healthz and /readyz on {}:{}", server_->host(), server_->port());
}

StatusServer::~StatusServer() { server_->stop(); }

}  // namespace couponflow::ops
