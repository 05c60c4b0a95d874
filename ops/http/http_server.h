#pragma once
// An HTTP/1.1 server for couponflow's endpoints: the status endpoints of `process`
// (metrics, probes, interactive queries) and the `api` service.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace couponflow::ops {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // the target up to '?', still percent-encoded
  std::string query;   // after '?', "" if none
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // beyond Content-Type

  static HttpResponse json(int status, std::string body) { return {status, "application/json", std::move(body), {}}; }
  /// {"error": "<sentence>"}, as every couponflow JSON endpoint answers an error.
  static HttpResponse error(int status, std::string_view sentence);
  static HttpResponse text(int status, std::string body) {
    return {status, "text/plain; charset=utf-8", std::move(body), {}};
  }
};

/// Answers a request by calling `respond`, from any thread, now or later (a long poll
/// answers when a decision arrives or its wait ends). The first call answers; later ones
/// are ignored, so a timeout and a late completion may race to answer.
/// The server owns the waiting connection, not the callback: a callback called after the
/// server stopped does nothing, and one dropped without being called closes the
/// connection.
using HttpRespond = std::function<void(HttpResponse)>;
using HttpHandler = std::function<void(HttpRequest&&, HttpRespond)>;

struct HttpServerOptions {
  std::string what = "http";      // names the server in logs and errors
  int threads = 1;                // Asio threads serving connections
  size_t max_body_bytes = 16 * 1024;  // a larger body is answered 413 and the connection closed
  int idle_timeout_ms = 60'000;   // a keep-alive connection idle this long is closed
  size_t max_connections = 10'000;  // beyond: answered 503 and closed at once
};

/// Role: accepts connections on HOST:PORT and hands each request to the handler;
/// HTTP/1.1 with keep-alive (requests of one connection answered in order), bodies up to
/// max_body_bytes (413 beyond), malformed requests answered 400 and closed, at most
/// max_connections at once (a connection beyond is answered 503 and closed). HEAD is
/// answered like GET without the body.
/// Boost.Beast on Asio coroutines, on `threads` threads of its own; handlers never block
/// them: a handler that must wait answers later through `respond`.
/// Lifecycle: serves from construction until destruction; the destructor stops the
/// threads (answers still pending are dropped with their connections).
/// Errors: the constructor throws FatalError when it cannot listen.
class HttpServer {
 public:
  /// `listen`: HOST:PORT; port 0 picks a free one (see port()).
  HttpServer(const std::string& listen, HttpHandler handler, HttpServerOptions options = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Stops serving and joins the threads; answers given later are dropped. Idempotent.
  /// Call it before destroying what the handler uses.
  void stop();

  std::string host() const;
  uint16_t port() const;
  /// Connections open now.
  size_t connections() const;
  /// Calls `fn` on a server thread after `delay_ms` (timeouts of long polls). Thread: any.
  void run_after(int delay_ms, std::function<void()> fn);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Splits "HOST:PORT". Errors: FatalError naming `what` if there is no colon.
std::pair<std::string, std::string> split_host_port(const std::string& listen, std::string_view what);

}  // namespace couponflow::ops
