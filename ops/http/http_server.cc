#include "ops/http/http_server.h"

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <thread>

#include "common/errors.h"
#include "common/json_string.h"
#include "common/log.h"
#include "ops/http/pending_answers.h"

namespace couponflow::ops {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

constexpr size_t kMaxDrainBytes = 1 << 20;  // read and dropped after refusing a request

/// A connection suspended in `dispatch`: resumed on its own executor.
template <class Completion, class Executor>
class PendingCompletion final : public PendingAnswer {
 public:
  PendingCompletion(Completion completion, Executor executor)
      : completion_(std::move(completion)), executor_(std::move(executor)) {}
  void resume(HttpResponse&& response) override {
    asio::post(executor_, [completion = std::move(completion_), response = std::move(response)]() mutable {
      std::move(completion)(std::move(response));
    });
  }

 private:
  Completion completion_;
  Executor executor_;
};

/// What a respond callback holds: the name of its answer, and a weak reference to the
/// server's registry. The last copy of a callback that never answered lets go of the
/// connection (as dropping the coroutine used to); after the server is gone it does nothing.
struct RespondTicket {
  RespondTicket(const std::shared_ptr<PendingAnswers>& registry, uint64_t answer_id)
      : answers(registry), id(answer_id) {}
  ~RespondTicket() {
    if (auto registry = answers.lock()) registry->abandon(id);
  }
  RespondTicket(const RespondTicket&) = delete;
  RespondTicket& operator=(const RespondTicket&) = delete;
  std::weak_ptr<PendingAnswers> answers;
  uint64_t id;
};

}  // namespace

HttpResponse HttpResponse::error(int status, std::string_view sentence) {
  std::string body = "{\"error\":";
  append_json_string(body, sentence);
  body += '}';
  return json(status, std::move(body));
}

std::pair<std::string, std::string> split_host_port(const std::string& listen, std::string_view what) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    throw FatalError(fmt::format("{} expects HOST:PORT, got '{}'", what, listen));
  }
  return {listen.substr(0, colon), listen.substr(colon + 1)};
}

struct HttpServer::Impl {
  HttpServerOptions options;
  HttpHandler handler;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::vector<std::thread> threads;
  std::atomic<size_t> connections{0};  // sessions open now
  // Closed by stop() after the threads have joined, while `io` still exists.
  std::shared_ptr<PendingAnswers> pending = std::make_shared<PendingAnswers>();

  explicit Impl(HttpServerOptions o) : options(std::move(o)), io(std::max(1, options.threads)) {}

  // Hands the request to the handler and resumes when it responds, from whatever thread.
  // The suspended connection is registered in `pending`; the respond callback only names
  // it, so a callback that outlives the server cannot destroy a connection late.
  asio::awaitable<HttpResponse> dispatch(HttpRequest request) {
    auto initiate = [this, &request](auto completion) {
      auto executor = asio::get_associated_executor(completion, io.get_executor());
      const uint64_t id = pending->add(
          std::make_unique<PendingCompletion<decltype(completion), decltype(executor)>>(std::move(completion), executor));
      auto ticket = std::make_shared<RespondTicket>(pending, id);
      handler(std::move(request), [ticket](HttpResponse response) {
        if (auto answers = ticket->answers.lock()) answers->answer(ticket->id, std::move(response));
      });
    };
    co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(HttpResponse)>(initiate,
                                                                                           asio::use_awaitable);
  }

  static http::response<http::string_body> to_beast(HttpResponse&& r, unsigned version, bool keep_alive, bool head) {
    http::response<http::string_body> res{static_cast<http::status>(r.status), version};
    res.set(http::field::server, "couponflow");
    res.set(http::field::content_type, r.content_type);
    for (auto& [name, value] : r.headers) res.set(name, value);
    res.keep_alive(keep_alive);
    res.body() = std::move(r.body);
    res.prepare_payload();
    if (head) res.body().clear();
    return res;
  }

  asio::awaitable<void> session(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    try {
      for (;;) {
        stream.expires_after(std::chrono::milliseconds(options.idle_timeout_ms));
        http::request_parser<http::string_body> parser;
        parser.body_limit(options.max_body_bytes);
        beast::error_code ec;
        co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
        if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::eof ||
            ec == asio::error::connection_reset) {
          break;
        }
        if (ec) {
          // A body over the limit, or bytes that are not HTTP: answer, then close (the
          // rest of the stream cannot be trusted to start a new request).
          const bool too_large = ec == http::error::body_limit;
          auto res = to_beast(too_large ? HttpResponse::error(413, fmt::format("the body exceeds {} bytes",
                                                                              options.max_body_bytes))
                                        : HttpResponse::error(400, "malformed HTTP request: " + ec.message()),
                              11, false, false);
          stream.expires_after(std::chrono::seconds(5));
          co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
          // A lingering close: the peer may still be sending the body we refused, and
          // closing with unread bytes resets the connection, which can destroy the
          // answer before the peer reads it. Stop sending, then read and discard for a
          // bounded time and amount.
          stream.socket().shutdown(tcp::socket::shutdown_send, ec);
          stream.expires_after(std::chrono::seconds(2));
          std::array<char, 16 * 1024> sink;
          for (size_t drained = 0; drained < kMaxDrainBytes;) {
            const size_t n = co_await stream.async_read_some(asio::buffer(sink),
                                                             asio::redirect_error(asio::use_awaitable, ec));
            if (ec) break;
            drained += n;
          }
          break;
        }
        http::request<http::string_body> req = parser.release();
        const bool head = req.method() == http::verb::head;
        HttpRequest request;
        request.method = head ? "GET" : std::string(req.method_string());
        const std::string_view target(req.target().data(), req.target().size());
        const auto question = target.find('?');
        request.path = std::string(target.substr(0, question));
        if (question != std::string_view::npos) request.query = std::string(target.substr(question + 1));
        request.body = std::move(req.body());
        const bool keep_alive = req.keep_alive();
        const unsigned version = req.version();
        // No idle timeout while the handler works (a long poll waits up to 30 s).
        stream.expires_never();
        HttpResponse response = co_await dispatch(std::move(request));
        auto res = to_beast(std::move(response), version, keep_alive, head);
        stream.expires_after(std::chrono::milliseconds(options.idle_timeout_ms));
        co_await http::async_write(stream, res, asio::use_awaitable);
        if (!keep_alive) break;
      }
    } catch (const std::exception&) {
      // The peer went away or timed out mid-write: nothing to do but close.
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  asio::awaitable<void> refuse(tcp::socket socket) {
    static constexpr std::string_view kBusy =
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: application/json\r\n"
        "Content-Length: 40\r\nConnection: close\r\n\r\n{\"error\":\"too many connections at once\"}";
    beast::tcp_stream stream(std::move(socket));
    stream.expires_after(std::chrono::seconds(2));
    beast::error_code ec;
    co_await asio::async_write(stream, asio::buffer(kBusy), asio::redirect_error(asio::use_awaitable, ec));
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) {
        log::warn("{} server: accept failed: {}", options.what, ec.message());
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      if (connections.load() >= options.max_connections) {
        // Over the limit: one short answer and the connection closes, instead of memory
        // and file descriptors without bound.
        asio::co_spawn(io, refuse(std::move(socket)), asio::detached);
        continue;
      }
      ++connections;
      asio::co_spawn(io, session(std::move(socket)), [this](std::exception_ptr) { --connections; });
    }
  }
};

HttpServer::HttpServer(const std::string& listen, HttpHandler handler, HttpServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {
  const auto [host, port] = split_host_port(listen, impl_->options.what);
  impl_->handler = std::move(handler);
  try {
    tcp::resolver resolver(impl_->io);
    const tcp::endpoint endpoint = *resolver.resolve(host, port, tcp::resolver::passive).begin();
    impl_->acceptor.open(endpoint.protocol());
    impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
    impl_->acceptor.bind(endpoint);
    impl_->acceptor.listen();
  } catch (const std::exception& e) {
    throw FatalError(fmt::format("cannot listen on {} for {}: {}", listen, impl_->options.what, e.what()));
  }
  asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
  for (int i = 0; i < std::max(1, impl_->options.threads); ++i) {
    impl_->threads.emplace_back([this] { impl_->io.run(); });
  }
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::stop() {
  impl_->io.stop();
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
  // Connections still waiting for an answer go now, while the io_context they post to
  // on destruction exists; answers given later find nothing to resume.
  impl_->pending->close();
}

std::string HttpServer::host() const { return impl_->acceptor.local_endpoint().address().to_string(); }

uint16_t HttpServer::port() const { return impl_->acceptor.local_endpoint().port(); }

size_t HttpServer::connections() const { return impl_->connections.load(); }

void HttpServer::run_after(int delay_ms, std::function<void()> fn) {
  auto timer = std::make_shared<asio::steady_timer>(impl_->io, std::chrono::milliseconds(delay_ms));
  timer->async_wait([timer, fn = std::move(fn)](const boost::system::error_code& ec) {
    if (!ec) fn();
  });
}

}  // namespace couponflow::ops
