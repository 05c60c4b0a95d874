#include "common/errors.h"
#include "common/murmur2.h"
#include "processor/testing/mock_clients.h"

namespace couponflow::processor::testing {

void MockProducer::send(const std::string& topic, std::optional<Partition> partition, const Message& message) {
  std::lock_guard lock(cluster_.mutex_);
  auto it = cluster_.topics_.find(topic);
  if (it == cluster_.topics_.end()) throw FatalError("mock: cannot produce to " + topic + ": no such topic");
  const auto count = static_cast<int32_t>(it->second.size());
  const Partition p = partition ? *partition : message.key ? murmur2_partition(*message.key, count) : Partition{0};
  if (transactional_ && (!in_transaction_ || committing_)) {
    throw TransactionAbortedError("mock: cannot produce to " + topic + ": no transaction takes records now");
  }
  LoggedRecord r;
  if (message.key) r.key.emplace(*message.key);
  if (message.value) r.value.emplace(*message.value);
  r.timestamp = message.timestamp;
  for (const auto& h : message.headers) r.headers.emplace_back(h.key, h.value);
  (in_transaction_ ? pending_ : queued_).emplace_back(TopicPartition{topic, p}, std::move(r));
}

std::optional<Offset> MockProducer::last_acked_offset(const TopicPartition& tp) const {
  auto it = acked_.find(tp);
  if (it == acked_.end()) return std::nullopt;
  return it->second;
}

void MockProducer::deliver_queued() {
  std::erase_if(queued_, [&](auto& entry) {
    if (cluster_.held_deliveries_.contains(entry.first)) return false;
    acked_[entry.first] = cluster_.append_locked(entry.first, std::move(entry.second));
    return true;
  });
  cluster_.wake_all();
}

void MockProducer::deliver_transactional() {
  if (cluster_.options_.transaction_markers) return;  // visible at commit only
  std::erase_if(pending_, [&](auto& entry) {
    if (cluster_.held_deliveries_.contains(entry.first)) return false;
    acked_[entry.first] = cluster_.append_locked(entry.first, std::move(entry.second));
    return true;
  });
  cluster_.wake_all();
}

void MockProducer::flush(int) {
  std::lock_guard lock(cluster_.mutex_);
  cluster_.check(MockCall::kFlush);
  deliver_queued();
  if (!queued_.empty()) throw RetriableError("mock: flush timed out with records for a held partition");
}

void MockProducer::poll() {
  std::lock_guard lock(cluster_.mutex_);
  if (cluster_.down_) return;
  deliver_queued();
  deliver_transactional();
}

int64_t MockProducer::in_flight() const { return static_cast<int64_t>(queued_.size() + pending_.size()); }

void MockProducer::init_transactions(int) {
  std::lock_guard lock(cluster_.mutex_);
  cluster_.check(MockCall::kInitTransactions);
}

void MockProducer::begin_transaction() {
  std::lock_guard lock(cluster_.mutex_);
  cluster_.check(MockCall::kBeginTransaction, /*broker_call=*/false);
  in_transaction_ = true;
}

void MockProducer::send_offsets_to_transaction(const std::vector<std::pair<TopicPartition, Offset>>& offsets,
                                               Consumer& group_member, int) {
  std::lock_guard lock(cluster_.mutex_);
  cluster_.check(MockCall::kSendOffsets);
  if (committing_) throw FatalError("mock: send offsets to transaction: Operation not valid in state CommittingTransaction");
  pending_offsets_ = offsets;
  pending_group_ = dynamic_cast<MockConsumer&>(group_member).group();
}

void MockProducer::commit_transaction(int) {
  std::lock_guard lock(cluster_.mutex_);
  if (!cluster_.down_) deliver_transactional();  // a commit starts with a flush
  try {
    cluster_.check(MockCall::kCommitTransaction);
  } catch (const RetriableError&) {
    committing_ = true;  // it may still complete: only this call again, or an abort
    throw;
  }
  for (const auto& [tp, record] : pending_) {
    if (cluster_.held_deliveries_.contains(tp)) {
      committing_ = true;
      throw RetriableError("mock: commit timed out: records wait for " + tp.topic);
    }
  }
  committing_ = false;
  for (auto& [tp, record] : pending_) acked_[tp] = cluster_.append_locked(tp, std::move(record));
  if (cluster_.options_.transactions_store_offsets) {
    for (const auto& [tp, offset] : pending_offsets_) cluster_.committed_[pending_group_][tp] = offset;
  }
  pending_.clear();
  pending_offsets_.clear();
  in_transaction_ = false;
  cluster_.wake_all();
}

void MockProducer::abort_transaction(int) {
  std::lock_guard lock(cluster_.mutex_);
  cluster_.check(MockCall::kAbortTransaction);
  committing_ = false;
  pending_.clear();
  pending_offsets_.clear();
  in_transaction_ = false;
}

}  // namespace couponflow::processor::testing
