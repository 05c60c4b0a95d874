#pragma once
// librdkafka configuration as plain key/value pairs, so that code outside
// processor/kafka never sees rd_kafka_conf_t.

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace couponflow::kafka {

/// Ordered librdkafka properties; later entries override earlier ones.
class ClientProperties {
 public:
  ClientProperties() = default;
  ClientProperties(std::initializer_list<std::pair<std::string, std::string>> init) : entries_(init) {}

  ClientProperties& set(std::string key, std::string value) {
    entries_.emplace_back(std::move(key), std::move(value));
    return *this;
  }
  /// Appends every entry of `other` (so they override ours).
  ClientProperties& merge(const ClientProperties& other) {
    entries_.insert(entries_.end(), other.entries_.begin(), other.entries_.end());
    return *this;
  }
  const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }
  /// The effective value of key, or empty.
  std::string get(const std::string& key) const {
    std::string value;
    for (const auto& [k, v] : entries_) {
      if (k == key) value = v;
    }
    return value;
  }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

}  // namespace couponflow::kafka

namespace couponflow::kafka {

/// Receives a client's statistics document (librdkafka's STATISTICS.md JSON), every
/// statistics.interval.ms, on the thread that polls the client.
using StatisticsCallback = std::function<void(std::string_view json)>;

/// Checks every property against librdkafka's configuration (name and value) without
/// creating a client. Throws std::invalid_argument naming the first bad one.
void validate_properties(const ClientProperties& properties);

}  // namespace couponflow::kafka
