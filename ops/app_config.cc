#include "ops/app_config.h"

#include <charconv>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

namespace couponflow::ops {
namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

int64_t to_int(const std::string& key, const std::string& value, int64_t min) {
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || ptr != value.data() + value.size() || n < min) {
    throw std::invalid_argument(fmt::format("{} must be an integer >= {}, got '{}'", key, min, value));
  }
  return n;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> read_properties(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw std::invalid_argument("cannot read config file " + file.string());
  std::vector<std::pair<std::string, std::string>> out;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos || trim(line.substr(0, eq)).empty()) {
      throw std::invalid_argument(fmt::format("{}:{}: expected key=value", file.string(), n));
    }
    out.emplace_back(trim(line.substr(0, eq)), trim(line.substr(eq + 1)));
  }
  return out;
}

void apply_setting(AppConfig& config, const std::string& key, const std::string& value) {
  auto& s = config.streams;
  if (key == "application.id") {
    s.application_id = value;
  } else if (key == "bootstrap.servers") {
    s.bootstrap = value;
  } else if (key == "state.dir") {
    s.state_dir = value;
  } else if (key == "instance.id") {
    s.instance_id = value;
  } else if (key == "processing.guarantee") {
    if (value == "at_least_once") {
      s.guarantee = processor::Guarantee::kAtLeastOnce;
    } else if (value == "exactly_once_v2") {
      s.guarantee = processor::Guarantee::kExactlyOnceV2;
    } else {
      throw std::invalid_argument("processing.guarantee must be at_least_once or exactly_once_v2");
    }
  } else if (key == "commit.interval.ms") {
    s.commit_interval_ms = to_int(key, value, 1);
  } else if (key == "statestore.cache.max.bytes") {
    s.store_cache_bytes = static_cast<size_t>(to_int(key, value, 0));
  } else if (key == "max.task.idle.ms") {
    s.max_task_idle_ms = to_int(key, value, -1);
  } else if (key == "num.stream.threads") {
    s.num_stream_threads = static_cast<int>(to_int(key, value, 1));
  } else if (key == "num.standby.replicas") {
    s.num_standby_replicas = static_cast<int>(to_int(key, value, 0));
  } else if (key == "processing.attempts") {
    s.processing_attempts = static_cast<int>(to_int(key, value, 1));
  } else if (key == "processing.retry.backoff.ms") {
    s.retry_backoff_ms = to_int(key, value, 0);
  } else if (key == "partition.check.interval.ms") {
    s.partition_check_interval_ms = to_int(key, value, 100);
  } else if (key == "buffered.records.per.partition") {
    s.max_buffered_records = static_cast<size_t>(to_int(key, value, 1));
  } else if (key == "metrics.recording.level") {
    if (value != "info" && value != "off") throw std::invalid_argument("metrics.recording.level must be info or off");
    s.metrics_per_record = value == "info";
  } else if (key == "metrics.coupon.series.max") {
    s.metrics_max_keyed_series = static_cast<size_t>(to_int(key, value, 0));
  } else if (key == "shutdown.timeout.ms") {
    config.shutdown_timeout_ms = to_int(key, value, 0);
  } else if (key == "application.server") {
    if (!value.empty() && value.rfind(':') == std::string::npos) {
      throw std::invalid_argument("application.server must be HOST:PORT");
    }
    config.application_server = value;
  } else if (key == "api.decisions.max") {
    config.api.decisions_max = static_cast<size_t>(to_int(key, value, 1));
  } else if (key == "api.request.timeout.ms") {
    config.api.request_timeout_ms = static_cast<int>(to_int(key, value, 1));
  } else if (key == "api.query.timeout.ms") {
    config.api.query_timeout_ms = static_cast<int>(to_int(key, value, 1));
  } else if (key == "api.threads") {
    config.api.threads = static_cast<int>(to_int(key, value, 1));
  } else if (key == "api.max.in.flight") {
    config.api.max_in_flight = static_cast<size_t>(to_int(key, value, 1));
  } else if (key == "api.max.waiting.queries") {
    config.api.max_waiting_queries = static_cast<size_t>(to_int(key, value, 1));
  } else if (key == "log.format") {
    if (value != "text" && value != "json") throw std::invalid_argument("log.format must be text or json");
    config.log_format = value == "json" ? log::Format::kJson : log::Format::kText;
  } else if (key == "log.level") {
    if (value == "debug") {
      config.log_level = log::Level::kDebug;
    } else if (value == "info") {
      config.log_level = log::Level::kInfo;
    } else if (value == "warn") {
      config.log_level = log::Level::kWarn;
    } else if (value == "error") {
      config.log_level = log::Level::kError;
    } else {
      throw std::invalid_argument("log.level must be debug, info, warn or error");
    }
  } else if (key == "coupon.max.request.bytes") {
    config.coupon.max_request_bytes = static_cast<size_t>(to_int(key, value, 1));
  } else if (key == "coupon.dlq.max.record.bytes") {
    config.coupon.max_dead_letter_bytes = static_cast<size_t>(to_int(key, value, 1024));
  } else if (key == "coupon.topic.issuance") {
    config.coupon.topics.issuance = value;
  } else if (key == "coupon.topic.catalog") {
    config.coupon.topics.catalog = value;
  } else if (key == "coupon.topic.issued") {
    config.coupon.topics.issued = value;
  } else if (key == "coupon.topic.rejected") {
    config.coupon.topics.rejected = value;
  } else if (key == "coupon.topic.dlq") {
    config.coupon.topics.dlq = value;
  } else if (key.starts_with("consumer.")) {
    s.consumer.set(key.substr(9), value);
  } else if (key.starts_with("producer.")) {
    s.producer.set(key.substr(9), value);
  } else {
    s.client.set(key, value);
  }
}

void apply_logging(const AppConfig& config) {
  log::set_min_level(config.log_level);
  log::set_format(config.log_format);
}

}  // namespace couponflow::ops
