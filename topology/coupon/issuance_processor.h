#pragma once
// Decides each coupon request (contract: decision rules) and emits its result or a DLQ
// entry.

#include <array>
#include <string>

#include "topology/coupon/coupon_topology.h"
#include "topology/coupon/decision.h"
#include "topology/coupon/dlq.h"
#include "topology/coupon/request.h"
#include "topology/processor.h"

namespace couponflow::coupon {

/// Role: the coupon topology's only processor. One instance per task.
/// Reads: the catalog table and the issued store's counts view; writes the issued
/// store (one holding per accepted request, the only state a decision changes).
/// Errors: undecidable input becomes a DLQ message; nothing here throws on bad input.
class IssuanceProcessor final : public topology::Processor {
 public:
  explicit IssuanceProcessor(const CouponOptions& options) : options_(options) {}

  void init(topology::ProcessorContext& context) override;
  void process(const Record& record) override;

 private:
  void dead_letter(const Record& record, const DlqVerdict& verdict);
  void count(const Decision& d, const DecisionInput& in);

  CouponOptions options_;
  topology::ProcessorContext* context_ = nullptr;
  state::KeyValueStore* issued_ = nullptr;
  state::ReadableStore* counts_ = nullptr;
  state::ReadableStore* catalog_ = nullptr;
  topology::ChildRef accepted_{}, rejected_{}, dlq_{};

  // Metrics, resolved in init (docs/metrics.md).
  topology::MetricCounter* accepted_count_ = nullptr;
  std::array<topology::MetricCounter*, kRejectReasons> rejected_count_{};
  std::array<topology::MetricCounter*, kDlqReasons> dlq_count_{};
  topology::KeyedGauge* remaining_ = nullptr;

  RequestParser parser_;
  CouponRequest request_;
  // Reused buffers: the hot path allocates nothing once they have grown.
  std::string key_buffer_;
  std::string value_buffer_;
  std::string identity_buffer_;
  std::string output_buffer_;
};

}  // namespace couponflow::coupon
