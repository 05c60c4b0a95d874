#pragma once
// The client configuration every subcommand that talks to Kafka takes the same way
// (contract v2): --config FILE, then -X key=value (repeatable), then --bootstrap LIST,
// which may be omitted when the configuration names bootstrap.servers. The same keys
// name the topics, so every tool reaches the same cluster and topics as `process`.

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "ops/app_config.h"
#include "processor/kafka/client_properties.h"

namespace couponflow::cli {

struct ClientOptions {
  std::string bootstrap;
  std::string config_file;
  std::vector<std::string> overrides;

  /// Registers --bootstrap, --config and -X on `cmd`.
  void add_to(CLI::App* cmd);
  /// The configuration they make: defaults, the file, -X in order, then --bootstrap.
  /// Throws std::invalid_argument (a usage error, exit 2) for a malformed entry, an
  /// invalid librdkafka property, or when no bootstrap servers are named (unless
  /// `cluster_optional`: a subcommand that also works without a cluster).
  ops::AppConfig resolve(bool cluster_optional = false) const;
};

/// The librdkafka properties a tool's clients use: bootstrap.servers and every
/// client-wide property of the configuration (security.protocol, sasl.*, ssl.*, ...).
kafka::ClientProperties tool_client(const ops::AppConfig& config);

}  // namespace couponflow::cli
