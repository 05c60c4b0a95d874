// couponflow api: the HTTP ingress and query service (contract v2).

#include "common/log.h"
#include "ops/api/api_service.h"
#include "ops/app_config.h"
#include "ops/cli/client_options.h"
#include "ops/cli/commands.h"
#include "ops/signals.h"

#include <chrono>
#include <cstdio>
#include <thread>

namespace couponflow::cli {

Run add_api_command(CLI::App& root) {
  struct Options {
    ClientOptions client;
    std::string listen = "127.0.0.1:8080";
    std::string application_id;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = root.add_subcommand(
      "api",
      "Serve the job over HTTP: POST /api/coupons/{id}/issue, GET /api/requests/{requestId}, "
      "GET /api/coupons/{id}[/holders/{userId}] (answered by the processor that owns the coupon), "
      "a live page at /, and /metrics, /healthz, /readyz. Runs until SIGINT/SIGTERM.");
  o->client.add_to(cmd);
  cmd->add_option("--listen", o->listen, "HOST:PORT to serve on (default 127.0.0.1:8080; port 0 picks one)");
  cmd->add_option("--application-id", o->application_id,
                  "the processors' application id, whose instances answer queries (default coupon-processor)");
  return [o] {
    ops::AppConfig config = o->client.resolve();
    if (!o->application_id.empty()) config.streams.application_id = o->application_id;
    ops::apply_logging(config);
    log::set_instance("api");
    const auto& stop = ops::install_stop_signals();
    ops::ApiService service(config, tool_client(config), o->listen);
    // The first line of stdout, for scripts and tests (contract).
    std::printf("listening on http://%s:%u\n", service.host().c_str(), static_cast<unsigned>(service.port()));
    std::fflush(stdout);
    log::info("api serving on {}:{}", service.host(), service.port());
    while (!stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    log::info("api stopping");
    return 0;
  };
}

}  // namespace couponflow::cli
