#pragma once
// A minimal HTTP/1.0 GET, for reading an instance's endpoints (the demo, tests,
// benchmarks), and helpers to read samples out of Prometheus' text format.

#include <cstdint>
#include <string>

namespace couponflow::ops {

struct HttpAnswer {
  int status = 0;  // 0: no connection or no valid answer
  std::string body;
};

/// GET http://`host_port``path` (host_port "HOST:PORT"); never throws.
HttpAnswer http_get(const std::string& host_port, const std::string& path, int timeout_ms = 5000);
inline HttpAnswer http_get(uint16_t port, const std::string& path) {
  return http_get("127.0.0.1:" + std::to_string(port), path);
}

/// The value of the sample whose name and labels are exactly `series` as the text
/// format prints them (e.g. `couponflow_ready`, `x_total{kind="a"}`), or -1 if absent.
double metric_sample(const std::string& text, const std::string& series);
/// The sum of every sample of metric `name`, whatever its labels (0 if none).
double metric_sum(const std::string& text, const std::string& name);

}  // namespace couponflow::ops
