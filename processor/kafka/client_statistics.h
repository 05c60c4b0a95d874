#pragma once
// librdkafka's statistics (statistics.interval.ms, its STATISTICS.md JSON) as Prometheus
// metrics: what the broker side of a slow sale looks like from each client: round trips,
// request errors, retries and timeouts per broker, connection state, the producer's
// queue, and the consumer's partitions by fetch state. docs/metrics.md lists them.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

namespace prometheus {
class Registry;
}

namespace couponflow::kafka {

/// Role: turns each statistics document of a client into metric values labelled with
/// the client's role in the runtime (client="producer", "consumer" or "restore").
/// librdkafka's counters are cumulative per client handle: a smaller value than last
/// time means a new handle (e.g. a producer recreated), and counts on from there.
/// Thread: any (librdkafka calls back from the thread that polls the client); a mutex
/// keeps the bookkeeping consistent.
class ClientStatistics {
 public:
  explicit ClientStatistics(std::shared_ptr<prometheus::Registry> registry);
  ~ClientStatistics();
  ClientStatistics(const ClientStatistics&) = delete;
  ClientStatistics& operator=(const ClientStatistics&) = delete;

  /// One statistics document of the client in `role`. A document that cannot be read
  /// is ignored (and logged once).
  void ingest(const std::string& role, std::string_view json);

 private:
  struct Broker;
  void count(prometheus::Family<prometheus::Counter>& family, const std::map<std::string, std::string>& labels,
             double cumulative);

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Gauge>& rtt_;
  prometheus::Family<prometheus::Gauge>& connected_;
  prometheus::Family<prometheus::Counter>& request_errors_;
  prometheus::Family<prometheus::Counter>& retries_;
  prometheus::Family<prometheus::Counter>& timeouts_;
  prometheus::Family<prometheus::Gauge>& queue_messages_;
  prometheus::Family<prometheus::Gauge>& queue_bytes_;
  prometheus::Family<prometheus::Gauge>& fetch_partitions_;

  std::mutex mutex_;
  std::map<prometheus::Counter*, double> last_cumulative_;
  std::map<std::string, std::set<std::string>> fetch_states_seen_;  // per role
  bool warned_ = false;
};

}  // namespace couponflow::kafka
