#pragma once
// Keep-alive HTTP/1.1 GETs to a few servers, for the api's interactive queries: one TCP
// connection per query would cost a connect, an accept and a socket in TIME_WAIT each.

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "ops/http/http_get.h"

namespace couponflow::ops {

/// Role: blocking GETs over pooled keep-alive connections, per HOST:PORT. A connection
/// is taken from the pool for one exchange and returned after it if the server keeps it
/// open; a pooled connection the server has closed meanwhile is replaced once, silently
/// (GET is safe to repeat). At most `max_idle_per_server` idle connections are kept.
/// Thread: get() from any number of threads at once (each exchange has its connection).
/// Errors: never throws; status 0 when there was no valid answer within the timeout.
class HttpClientPool {
 public:
  explicit HttpClientPool(size_t max_idle_per_server = 16);
  ~HttpClientPool();
  HttpClientPool(const HttpClientPool&) = delete;
  HttpClientPool& operator=(const HttpClientPool&) = delete;

  HttpAnswer get(const std::string& host_port, const std::string& target, int timeout_ms);

 private:
  struct Connection;
  std::unique_ptr<Connection> take(const std::string& host_port);
  void give_back(const std::string& host_port, std::unique_ptr<Connection> connection);

  const size_t max_idle_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::vector<std::unique_ptr<Connection>>> idle_;
};

}  // namespace couponflow::ops
