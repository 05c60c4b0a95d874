#include "ops/http/http_client_pool.h"

// <utility> first: Boost 1.74's asio/awaitable.hpp uses std::exchange without including it.
#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>

namespace couponflow::ops {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

/// One connection with an io_context of its own, so that an exchange can be bounded by
/// run_for() on the calling thread (Asio's blocking calls take no timeout).
struct HttpClientPool::Connection {
  asio::io_context io{1};
  tcp::socket socket{io};
  beast::flat_buffer buffer;
  bool reused = false;  // taken from the pool: the server may have closed it since

  // Runs the queued operations for at most `timeout_ms`; false if they did not finish.
  bool run(int timeout_ms) {
    io.restart();
    io.run_for(std::chrono::milliseconds(timeout_ms));
    if (io.stopped()) return true;
    beast::error_code ignored;
    socket.close(ignored);
    io.restart();
    io.run();  // let the cancelled handlers finish
    return false;
  }
};

HttpClientPool::HttpClientPool(size_t max_idle_per_server) : max_idle_(max_idle_per_server) {}

HttpClientPool::~HttpClientPool() = default;

std::unique_ptr<HttpClientPool::Connection> HttpClientPool::take(const std::string& host_port) {
  {
    std::lock_guard lock(mutex_);
    auto it = idle_.find(host_port);
    if (it != idle_.end() && !it->second.empty()) {
      auto c = std::move(it->second.back());
      it->second.pop_back();
      c->reused = true;
      return c;
    }
  }
  return std::make_unique<Connection>();
}

void HttpClientPool::give_back(const std::string& host_port, std::unique_ptr<Connection> connection) {
  std::lock_guard lock(mutex_);
  auto& idle = idle_[host_port];
  if (idle.size() < max_idle_) idle.push_back(std::move(connection));
}

HttpAnswer HttpClientPool::get(const std::string& host_port, const std::string& target, int timeout_ms) {
  const auto colon = host_port.rfind(':');
  if (colon == std::string::npos) return {};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto c = take(host_port);
    const int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
    if (left <= 0) return {};
    beast::error_code ec;
    if (!c->socket.is_open()) {
      tcp::resolver resolver(c->io);
      const auto endpoints = resolver.resolve(host_port.substr(0, colon), host_port.substr(colon + 1), ec);
      if (ec) return {};
      asio::async_connect(c->socket, endpoints, [&](const beast::error_code& e, const tcp::endpoint&) { ec = e; });
      if (!c->run(left) || ec) return {};
      c->socket.set_option(tcp::no_delay(true), ec);
    }
    http::request<http::empty_body> request{http::verb::get, target, 11};
    request.set(http::field::host, host_port);
    request.keep_alive(true);
    http::response<http::string_body> response;
    bool written = false;
    http::async_write(c->socket, request, [&](const beast::error_code& e, size_t) {
      ec = e;
      if (e) return;
      written = true;
      http::async_read(c->socket, c->buffer, response, [&](const beast::error_code& re, size_t) { ec = re; });
    });
    const bool finished = c->run(left);
    if (!finished || ec || !written) {
      // A reused connection the server closed while it idled: once more on a new one.
      if (c->reused && finished) continue;
      return {};
    }
    HttpAnswer answer;
    answer.status = static_cast<int>(response.result_int());
    for (const auto& field : response.base()) {
      answer.headers += std::string(field.name_string()) + ": " + std::string(field.value()) + "\r\n";
    }
    answer.body = std::move(response.body());
    if (response.keep_alive()) {
      c->reused = false;
      give_back(host_port, std::move(c));
    }
    return answer;
  }
  return {};
}

}  // namespace couponflow::ops
