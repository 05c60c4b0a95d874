#pragma once
// The series every Prometheus client library exports about its process (CPU seconds,
// resident memory, start time, open and maximum file descriptors, as named by the
// Prometheus "process" collector of the Go and Java clients), and
// couponflow_build_info{version, revision}: read from /proc at each scrape, so they
// cost nothing between scrapes. Served on every /metrics endpoint (StatusServer).

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <vector>

namespace couponflow::ops {

class ProcessCollector final : public prometheus::Collectable {
 public:
  /// Missing /proc files leave their series out rather than failing the scrape.
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace couponflow::ops
