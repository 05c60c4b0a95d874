#include "topology/coupon/issuance_processor.h"

#include <fmt/format.h>

#include "common/murmur2.h"
#include "topology/coupon/decision.h"
#include "topology/coupon/issued_state.h"
#include "topology/coupon/result.h"

namespace couponflow::coupon {

void IssuanceProcessor::init(topology::ProcessorContext& context) {
  context_ = &context;
  issued_ = &context.store(kIssuedStore);
  counts_ = &context.read_store(fmt::format("{}.{}", kIssuedStore, kCountsView));
  catalog_ = &context.read_store(kCatalogStore);
  accepted_ = context.child("accepted");
  rejected_ = context.child("rejected");
  dlq_ = context.child("dlq");
}

void IssuanceProcessor::process(const Record& record) {
  if (!record.value) {
    dead_letter(record, {DlqReason::kMalformed, "the record has no value (tombstone)"});
    return;
  }
  if (record.value->size() > options_.max_request_bytes) {
    dead_letter(record, {DlqReason::kTooLarge,
                         fmt::format("value of {} bytes exceeds the limit of {} bytes",
                                     record.value->size(), options_.max_request_bytes)});
    return;
  }
  if (auto verdict = parser_.parse(*record.value, request_)) {
    dead_letter(record, *verdict);
    return;
  }
  // A record counted outside its coupon's partition would give the coupon two writers.
  if (!record.key || *record.key != request_.coupon_id) {
    dead_letter(record, {DlqReason::kMisrouted,
                         fmt::format("record key {} differs from couponId '{}'",
                                     record.key ? fmt::format("'{}'", *record.key) : "(null)",
                                     request_.coupon_id)});
    return;
  }
  const Partition home = murmur2_partition(request_.coupon_id, context_->source_partition_count());
  if (home != record.partition) {
    dead_letter(record, {DlqReason::kMisrouted,
                         fmt::format("coupon '{}' belongs to partition {}, not {}",
                                     request_.coupon_id, home, record.partition)});
    return;
  }

  std::string_view identity = request_.request_id;
  if (identity.empty()) {
    identity_buffer_.clear();
    fmt::format_to(std::back_inserter(identity_buffer_), "{}-{}", record.partition, record.offset);
    identity = identity_buffer_;
  }

  DecisionInput in;
  in.identity = identity;
  in.timestamp = record.timestamp;
  holding_key(key_buffer_, request_.coupon_id, request_.user_id);
  if (auto held = issued_->get(key_buffer_)) in.holding = decode_holding(*held);
  std::optional<CouponDefinition> definition;
  if (auto stored = catalog_->get(request_.coupon_id)) definition = decode_definition(*stored);
  in.definition = definition ? &*definition : nullptr;
  in.issued_count = decode_count(counts_->get(request_.coupon_id));

  const Decision d = decide(in);
  if (d.grants_new_holding) {
    encode_holding(value_buffer_, d.issue_no, identity);
    issued_->put(key_buffer_, value_buffer_);
  }
  write_result_json(output_buffer_,
                    ResultView{identity, request_.coupon_id, request_.user_id, d.accepted,
                               d.issue_no, d.accepted ? std::string_view{} : to_string(d.reason),
                               request_.requested_at, context_->wall_clock_ms(),
                               record.partition.value, record.offset.value});
  context_->forward(d.accepted ? accepted_ : rejected_,
                    Message{request_.coupon_id, output_buffer_, record.timestamp, {}});
}

void IssuanceProcessor::dead_letter(const Record& record, const DlqVerdict& verdict) {
  const std::string partition = fmt::format("{}", record.partition);
  const std::string offset = fmt::format("{}", record.offset);
  const std::string failed_at = fmt::format("{}", context_->wall_clock_ms());
  const std::array<Header, 6> headers{
      Header{dlq_header::kReason, to_string(verdict.reason)},
      Header{dlq_header::kError, verdict.error},
      Header{dlq_header::kSourceTopic, record.topic},
      Header{dlq_header::kSourcePartition, partition},
      Header{dlq_header::kSourceOffset, offset},
      Header{dlq_header::kFailedAt, failed_at},
  };
  context_->forward(dlq_, Message{record.key, record.value, record.timestamp, headers});
}

}  // namespace couponflow::coupon
