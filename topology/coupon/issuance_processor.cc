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

  auto& metrics = context.metrics();
  const std::string decisions = "couponflow_decisions_total";
  const std::string decisions_help = "Decisions emitted, by status and reject reason (a replay counts again).";
  accepted_count_ = &metrics.counter(decisions, decisions_help, {{"status", "ACCEPTED"}, {"reason", ""}});
  for (size_t r = 0; r < kRejectReasons; ++r) {
    rejected_count_[r] = &metrics.counter(
        decisions, decisions_help, {{"status", "REJECTED"}, {"reason", std::string(to_string(RejectReason(r)))}});
  }
  for (size_t r = 0; r < kDlqReasons; ++r) {
    dlq_count_[r] = &metrics.counter("couponflow_dlq_records_total", "Records sent to the dead-letter topic.",
                                     {{"reason", std::string(to_string(DlqReason(r)))}});
  }
  remaining_ = &metrics.keyed_gauge("couponflow_coupon_remaining",
                                    "Capacity minus issued count of a coupon in the catalog (up to a cap).", "coupon");
  // Every coupon of this partition shows from the start, not only after its first request.
  catalog_->for_each([&](std::string_view coupon_id, std::string_view stored) {
    if (auto definition = decode_definition(stored)) {
      const int64_t issued = decode_count(counts_->get(coupon_id));
      remaining_->set(coupon_id, static_cast<double>(std::max<int64_t>(0, definition->capacity - issued)));
    }
    return true;
  });
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
  // The holding lookup below is usually a cache miss (a key never seen before, in an
  // index of megabytes): started now, it overlaps the checks and the other lookups.
  holding_key(key_buffer_, request_.coupon_id, request_.user_id);
  issued_->prefetch(key_buffer_);
  // A record counted outside its coupon's partition would give the coupon two writers.
  if (!record.key || *record.key != request_.coupon_id) {
    dead_letter(record, {DlqReason::kMisrouted,
                         fmt::format("record key {} differs from couponId '{}'",
                                     record.key ? fmt::format("'{}'", topology::quote_prefix(*record.key)) : "(null)",
                                     topology::quote_prefix(request_.coupon_id))});
    return;
  }
  const Partition home = murmur2_partition(request_.coupon_id, context_->source_partition_count());
  if (home != record.partition) {
    dead_letter(record, {DlqReason::kMisrouted,
                         fmt::format("coupon '{}' belongs to partition {}, not {}",
                                     topology::quote_prefix(request_.coupon_id), home, record.partition)});
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
  count(d, in);
}

void IssuanceProcessor::count(const Decision& d, const DecisionInput& in) {
  if (d.accepted) {
    accepted_count_->add();
  } else {
    rejected_count_[static_cast<size_t>(d.reason)]->add();
  }
  if (in.definition != nullptr) {
    const int64_t issued = in.issued_count + (d.grants_new_holding ? 1 : 0);
    remaining_->set(request_.coupon_id, static_cast<double>(std::max<int64_t>(0, in.definition->capacity - issued)));
  }
}

void IssuanceProcessor::dead_letter(const Record& record, const DlqVerdict& verdict) {
  const topology::DeadLetter entry(record, to_string(verdict.reason), verdict.error, context_->wall_clock_ms(),
                                   options_.max_dead_letter_bytes);
  context_->forward(dlq_, entry.message());
  dlq_count_[static_cast<size_t>(verdict.reason)]->add();
}

}  // namespace couponflow::coupon
