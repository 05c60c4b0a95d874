#include "ops/cli/client_options.h"

#include <stdexcept>

namespace couponflow::cli {

void ClientOptions::add_to(CLI::App* cmd) {
  cmd->add_option("--bootstrap", bootstrap,
                  "Kafka bootstrap servers (host:port,...); may be omitted when the configuration names "
                  "bootstrap.servers");
  cmd->add_option("--config", config_file,
                  "properties file, key=value per line: couponflow settings and librdkafka properties "
                  "(security.protocol, sasl.*, ssl.*, ...)")
      ->check(CLI::ExistingFile);
  cmd->add_option("-X", overrides, "key=value: a setting or a librdkafka property, after --config (repeatable)");
}

ops::AppConfig ClientOptions::resolve(bool cluster_optional) const {
  ops::AppConfig config;
  if (!config_file.empty()) {
    for (const auto& [k, v] : ops::read_properties(config_file)) ops::apply_setting(config, k, v);
  }
  for (const auto& kv : overrides) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) throw std::invalid_argument("-X expects key=value, got '" + kv + "'");
    ops::apply_setting(config, kv.substr(0, eq), kv.substr(eq + 1));
  }
  if (!bootstrap.empty()) config.streams.bootstrap = bootstrap;
  if (config.streams.bootstrap.empty() && !cluster_optional) {
    throw std::invalid_argument("no Kafka cluster named: give --bootstrap or bootstrap.servers in --config or -X");
  }
  for (const auto* props : {&config.streams.client, &config.streams.consumer, &config.streams.producer}) {
    kafka::validate_properties(*props);
  }
  return config;
}

kafka::ClientProperties tool_client(const ops::AppConfig& config) {
  kafka::ClientProperties client{{"bootstrap.servers", config.streams.bootstrap}};
  client.merge(config.streams.client);
  return client;
}

}  // namespace couponflow::cli
