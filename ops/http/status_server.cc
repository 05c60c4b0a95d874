#include "ops/http/status_server.h"

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <sstream>
#include <stdexcept>

#include "common/errors.h"
#include "common/log.h"
#include "ops/http/process_collector.h"

namespace couponflow::ops {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {
constexpr auto kIdleTimeout = std::chrono::seconds(60);
}  // namespace

struct StatusServer::Impl {
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::shared_ptr<prometheus::Registry> registry;
  ProcessCollector process;
  std::function<Probe()> health, readiness;
  std::thread thread;

  http::response<http::string_body> answer(const http::request<http::string_body>& req) {
    http::response<http::string_body> res;
    res.version(req.version());
    res.keep_alive(req.keep_alive());
    res.set(http::field::server, "couponflow");
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    const std::string target(req.target());
    const std::string path = target.substr(0, target.find('?'));
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      res.result(http::status::method_not_allowed);
      res.body() = "only GET\n";
    } else if (path == "/metrics") {
      std::ostringstream out;
      auto families = registry->Collect();
      for (auto& f : process.Collect()) families.push_back(std::move(f));
      prometheus::TextSerializer().Serialize(out, families);
      res.result(http::status::ok);
      res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      res.body() = out.str();
    } else if (path == "/healthz" || path == "/readyz") {
      const Probe p = path == "/healthz" ? health() : readiness();
      res.result(p.ok ? http::status::ok : http::status::service_unavailable);
      res.body() = p.ok ? (path == "/healthz" ? "ok\n" : "ready\n") : p.detail + "\n";
    } else {
      res.result(http::status::not_found);
      res.body() = "not found: try /metrics, /healthz or /readyz\n";
    }
    res.prepare_payload();
    if (req.method() == http::verb::head) res.body().clear();
    return res;
  }

  asio::awaitable<void> session(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    try {
      for (;;) {
        stream.expires_after(kIdleTimeout);
        http::request<http::string_body> req;
        co_await http::async_read(stream, buffer, req, asio::use_awaitable);
        auto res = answer(req);
        const bool keep_alive = res.keep_alive();
        co_await http::async_write(stream, res, asio::use_awaitable);
        if (!keep_alive) break;
      }
    } catch (const std::exception&) {
      // The peer went away, timed out or sent garbage: nothing to do but close.
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) {
        log::warn("status server: accept failed: {}", ec.message());
        continue;
      }
      asio::co_spawn(io, session(std::move(socket)), asio::detached);
    }
  }
};

StatusServer::StatusServer(const std::string& listen, std::shared_ptr<prometheus::Registry> registry,
                           std::function<Probe()> health, std::function<Probe()> readiness)
    : impl_(std::make_unique<Impl>()) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw FatalError("--metrics-listen expects HOST:PORT, got '" + listen + "'");
  const std::string host = listen.substr(0, colon);
  const std::string port = listen.substr(colon + 1);
  impl_->registry = std::move(registry);
  impl_->health = std::move(health);
  impl_->readiness = std::move(readiness);
  try {
    tcp::resolver resolver(impl_->io);
    const tcp::endpoint endpoint = *resolver.resolve(host, port, tcp::resolver::passive).begin();
    impl_->acceptor.open(endpoint.protocol());
    impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
    impl_->acceptor.bind(endpoint);
    impl_->acceptor.listen();
  } catch (const std::exception& e) {
    throw FatalError("cannot listen on " + listen + " for /metrics: " + e.what());
  }
  asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
  impl_->thread = std::thread([this] { impl_->io.run(); });
  log::info("serving /metrics, /healthz and /readyz on {}:{}", host, this->port());
}

StatusServer::~StatusServer() {
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

uint16_t StatusServer::port() const { return impl_->acceptor.local_endpoint().port(); }

}  // namespace couponflow::ops
