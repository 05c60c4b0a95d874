#pragma once
// The ceiling every processor is compared with: a plain librdkafka consume -> produce
// loop with the processor's client settings, copying each request of coupon-issuance
// unchanged to coupon-issued (same partition), a flush and an offset commit every
// 100 ms, as the processor commits. Used by the runtime bench (reading a backlog) and
// the latency bench (at a fixed rate).

#include <cstdint>
#include <functional>
#include <string>

#include "processor/kafka/client_properties.h"

namespace couponflow::bench {

/// What the passthrough writes for each record it reads.
struct PassthroughShape {
  /// Empty: a copy of every record to coupon-issued (the plain passthrough). Otherwise
  /// the processor's outputs, with nothing of its work: `granted_share` of the records
  /// (evenly spread) go to coupon-issued and again to this topic, as a grant's result
  /// and changelog record do; the rest go to coupon-rejected, as rejections do.
  std::string changelog;
  double granted_share = 0;
};

/// Runs in a consumer group of its own (`group`), every partition from offset 0, until
/// done(records copied so far) says so; then commits what it copied.
/// on_first_records: called once, when the first records arrive (a benchmark's clock).
/// on_finished: called after the last commit, before the consumer leaves its group.
void run_passthrough(const kafka::ClientProperties& client, const std::string& group,
                     const std::function<bool(int64_t copied)>& done,
                     const std::function<void()>& on_first_records = {},
                     const std::function<void()>& on_finished = {}, const PassthroughShape& shape = {});

}  // namespace couponflow::bench
