#pragma once
// Processor configuration from a properties file and -X overrides.
//
// Keys this project defines are listed in README (Configuration) and applied to the
// StreamsConfig or the coupon options; "consumer."/"producer." prefixed keys go to that
// client only; every other key is a librdkafka property for all clients.

#include <filesystem>
#include <string>
#include <vector>

#include "common/log.h"
#include "processor/streams_config.h"
#include "topology/coupon/coupon_topology.h"

namespace couponflow::ops {

/// The `api` service's own settings (README, Configuration).
struct ApiConfig {
  size_t decisions_max = 1'000'000;   // api.decisions.max: recent decisions remembered
  int request_timeout_ms = 5'000;     // api.request.timeout.ms: broker acknowledgement of a POST
  int query_timeout_ms = 2'000;       // api.query.timeout.ms: one interactive query, all retries
  int threads = 2;                    // api.threads: HTTP threads
  size_t max_in_flight = 100'000;     // api.max.in.flight: POSTs awaiting the broker before 503
  size_t max_waiting_queries = 4'096; // api.max.waiting.queries: queries awaiting an instance before 503
};

struct AppConfig {
  processor::StreamsConfig streams;
  coupon::CouponOptions coupon;
  log::Level log_level = log::Level::kInfo;
  log::Format log_format = log::Format::kText;
  /// How long a graceful stop may take before the process exits without finishing it.
  int64_t shutdown_timeout_ms = 60'000;
  /// application.server: HOST:PORT the instance advertises for interactive queries
  /// ("" -> the address its status endpoint is bound to).
  std::string application_server;
  ApiConfig api;
};

/// Reads "key=value" lines ('#' comments, blank lines ignored). Throws
/// std::invalid_argument naming the file and line of a malformed entry.
std::vector<std::pair<std::string, std::string>> read_properties(const std::filesystem::path& file);

/// Applies one setting. Throws std::invalid_argument for a bad value of a known key.
void apply_setting(AppConfig& config, const std::string& key, const std::string& value);

/// Makes this process log as configured (log.level, log.format).
void apply_logging(const AppConfig& config);

}  // namespace couponflow::ops
