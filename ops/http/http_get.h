#pragma once
// A minimal HTTP/1.0 client, for reading an instance's endpoints (the api's query
// routing, the demo, tests, benchmarks), and helpers to read samples out of
// Prometheus' text format.

#include <cstdint>
#include <string>
#include <string_view>

namespace couponflow::ops {

struct HttpAnswer {
  int status = 0;  // 0: no connection or no valid answer
  std::string headers;  // the raw header lines
  std::string body;

  /// The value of header `name` (case-insensitive), "" if absent.
  std::string header(std::string_view name) const;
};

/// `method` http://`host_port``path` (host_port "HOST:PORT") with `body` (sent as
/// application/json when not empty), one connection per call, the whole exchange
/// bounded by `timeout_ms`; never throws.
HttpAnswer http_call(const std::string& method, const std::string& host_port, const std::string& path,
                     const std::string& body = "", int timeout_ms = 5000);
inline HttpAnswer http_get(const std::string& host_port, const std::string& path, int timeout_ms = 5000) {
  return http_call("GET", host_port, path, "", timeout_ms);
}
inline HttpAnswer http_get(uint16_t port, const std::string& path) {
  return http_get("127.0.0.1:" + std::to_string(port), path);
}

/// The value of the sample whose name and labels are exactly `series` as the text
/// format prints them (e.g. `couponflow_ready`, `x_total{kind="a"}`), or -1 if absent.
double metric_sample(const std::string& text, const std::string& series);
/// The sum of every sample of metric `name`, whatever its labels (0 if none).
double metric_sum(const std::string& text, const std::string& name);

}  // namespace couponflow::ops
