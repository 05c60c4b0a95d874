#include "processor/partition_group.h"

namespace couponflow::processor {

PartitionGroup::PartitionGroup(std::vector<bool> table_first)
    : queues_(table_first.size()), table_first_(std::move(table_first)) {}

size_t PartitionGroup::total_buffered() const {
  size_t n = 0;
  for (const auto& q : queues_) n += q.size();
  return n;
}

bool PartitionGroup::has_empty_source() const {
  for (const auto& q : queues_) {
    if (q.empty()) return true;
  }
  return false;
}

PartitionGroup::Choice PartitionGroup::next(const std::function<SourceProgress(size_t)>& progress,
                                            bool enforce) const {
  std::optional<size_t> best;
  bool any_empty_unsettled = false;
  for (size_t i = 0; i < queues_.size(); ++i) {
    if (queues_[i].empty()) {
      if (progress(i) != SourceProgress::kCaughtUp) any_empty_unsettled = true;
      continue;
    }
    if (!best) {
      best = i;
      continue;
    }
    const auto ts = queues_[i].front().timestamp;
    const auto best_ts = queues_[*best].front().timestamp;
    if (ts < best_ts || (ts == best_ts && table_first_[i] && !table_first_[*best])) best = i;
  }
  if (!best) return {Choice::Kind::kEmpty};
  if (any_empty_unsettled && !enforce) return {Choice::Kind::kWaiting};
  return {Choice::Kind::kReady, *best};
}

Record PartitionGroup::pop(size_t source) {
  auto& q = queues_.at(source);
  Record r = std::move(q.front());
  q.pop_front();
  return r;
}

void PartitionGroup::clear() {
  for (auto& q : queues_) q.clear();
}

}  // namespace couponflow::processor
