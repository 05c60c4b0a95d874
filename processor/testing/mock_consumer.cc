#include <sys/eventfd.h>
#include <unistd.h>

#include <stdexcept>

#include "common/errors.h"
#include "processor/testing/mock_clients.h"

namespace couponflow::processor::testing {

namespace {
/// A record handed out by poll(), owning the bytes its views point into.
struct OwnedRecord {
  std::string topic;
  LoggedRecord record;
};
}  // namespace

MockConsumer::MockConsumer(MockCluster& cluster, std::string group_id, RebalanceListener* listener)
    : cluster_(cluster), group_(std::move(group_id)), listener_(listener) {
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) throw FatalError("eventfd failed");
  std::lock_guard lock(cluster_.mutex_);
  cluster_.wake_fds_.emplace(wake_fd_, false);
}

MockConsumer::~MockConsumer() {
  {
    std::lock_guard lock(cluster_.mutex_);
    cluster_.wake_fds_.erase(wake_fd_);
    auto it = cluster_.members_.find(group_);
    if (it != cluster_.members_.end() && it->second->consumer == this) it->second->consumer = nullptr;
  }
  ::close(wake_fd_);
}

void MockConsumer::subscribe(const std::vector<std::string>&) {
  if (listener_ == nullptr) throw std::logic_error("only a group member subscribes");
  std::lock_guard lock(cluster_.mutex_);
  auto& member = cluster_.members_[group_];
  if (!member) member = std::make_unique<MockCluster::Member>();
  member->consumer = this;
}

bool MockConsumer::serve_event() {
  if (listener_ == nullptr) return false;
  MockCluster::Event event;
  {
    std::lock_guard lock(cluster_.mutex_);
    auto it = cluster_.members_.find(group_);
    if (it == cluster_.members_.end() || it->second->consumer != this || it->second->events.empty()) return false;
    event = it->second->events.front();
    it->second->rebalancing = false;  // the group completed the rebalance that led here
  }
  struct Served {
    MockConsumer& self;
    ~Served() {
      self.in_callback_ = false;
      std::lock_guard lock(self.cluster_.mutex_);
      self.cluster_.members_.at(self.group_)->events.pop_front();
    }
  } served{*this};
  ++rebalances_;
  in_callback_ = true;
  assigned_in_callback_ = false;
  switch (event.kind) {
    case MockCluster::Event::Kind::kAssign: {
      listener_->on_assigned(event.partitions);
      if (!assigned_in_callback_) {
        std::vector<std::pair<TopicPartition, std::optional<Offset>>> all;
        for (const auto& tp : event.partitions) all.emplace_back(tp, std::nullopt);
        assign(all);
      }
      break;
    }
    case MockCluster::Event::Kind::kRevoke:
      listener_->on_revoked(event.partitions);
      unassign(event.partitions);
      break;
    case MockCluster::Event::Kind::kLose:
      listener_->on_lost(event.partitions);
      unassign(event.partitions);
      break;
  }
  return true;
}

size_t MockConsumer::poll(std::vector<Record>& out, size_t max, int) {
  uint64_t drained;
  while (::read(wake_fd_, &drained, sizeof drained) > 0) {
  }
  {
    // Drained first, then re-armed, then the events and logs are looked at: whatever
    // changes after the re-arming writes the eventfd again, so no wake-up is lost.
    std::lock_guard lock(cluster_.mutex_);
    cluster_.wake_fds_[wake_fd_] = false;
  }
  // Rebalance events are served first: every record returned below belongs to the
  // assignment that results.
  while (serve_event()) {
  }
  batch_epoch_ = rebalances_;
  std::lock_guard lock(cluster_.mutex_);
  cluster_.check(MockCall::kPoll, /*broker_call=*/false);
  if (cluster_.down_) return 0;
  size_t n = 0;
  for (auto& [tp, a] : assignment_) {
    if (n >= max) break;
    if (a.paused || cluster_.held_.contains(tp)) continue;
    if (auto busy = cluster_.busy_.find(tp); busy != cluster_.busy_.end()) cluster_.append_locked(tp, busy->second);
    const auto& log = cluster_.partition_(tp);
    a.seen_high = Offset{log.end()};
    if (a.position.value < log.log_start) throw_out_of_range(tp, a.position, log.log_start);
    for (; a.position.value < log.end() && n < max; a.position = a.position.next()) {
      const LoggedRecord& stored = log.at(a.position.value);
      if (stored.control) continue;  // a marker: its offset is passed, nothing is delivered
      ++n;
      auto* owned = new OwnedRecord{tp.topic, stored};
      Record r;
      r.topic = owned->topic;
      r.partition = owned->record.partition;
      r.offset = owned->record.offset;
      r.timestamp = owned->record.timestamp;
      if (owned->record.key) r.key = std::string_view(*owned->record.key);
      if (owned->record.value) r.value = std::string_view(*owned->record.value);
      r.storage = RecordStorage(owned, [](void* p) { delete static_cast<OwnedRecord*>(p); });
      out.push_back(std::move(r));
    }
  }
  return n;
}

void MockConsumer::assign(const std::vector<std::pair<TopicPartition, std::optional<Offset>>>& partitions) {
  for (const auto& [tp, offset] : partitions) assignment_[tp] = Assigned{offset.value_or(Offset{0})};
  assigned_in_callback_ = assigned_in_callback_ || in_callback_;
}

void MockConsumer::unassign(const std::vector<TopicPartition>& partitions) {
  for (const auto& tp : partitions) assignment_.erase(tp);
}

void MockConsumer::pause(const std::vector<TopicPartition>& partitions) {
  for (const auto& tp : partitions) {
    if (auto it = assignment_.find(tp); it != assignment_.end()) it->second.paused = true;
  }
}

void MockConsumer::resume(const std::vector<TopicPartition>& partitions) {
  for (const auto& tp : partitions) {
    if (auto it = assignment_.find(tp); it != assignment_.end()) it->second.paused = false;
  }
}

void MockConsumer::seek(const std::vector<std::pair<TopicPartition, Offset>>& positions) {
  {
    std::lock_guard lock(cluster_.mutex_);
    cluster_.check(MockCall::kSeek);
  }
  for (const auto& [tp, offset] : positions) {
    auto it = assignment_.find(tp);
    if (it == assignment_.end()) throw RetriableError("mock: seek of an unassigned partition");
    it->second.position = offset;
  }
}

void MockConsumer::commit(const std::vector<std::pair<TopicPartition, Offset>>& offsets) {
  std::lock_guard lock(cluster_.mutex_);
  cluster_.check(MockCall::kCommit);
  auto member = cluster_.members_.find(group_);
  if (member != cluster_.members_.end() && member->second->rebalancing) {
    throw RetriableError("mock: offset commit failed: Broker: Group rebalance in progress");
  }
  for (const auto& [tp, offset] : offsets) cluster_.committed_[group_][tp] = offset;
}

void MockConsumer::commit_async(const std::vector<std::pair<TopicPartition, Offset>>& offsets) {
  // Done at once; the outcome is reported as a later poll would.
  try {
    commit(offsets);
    commit_results_.push_back({offsets, ""});
  } catch (const RetriableError& e) {
    commit_results_.push_back({offsets, e.what()});
  }
}

std::map<TopicPartition, Offset> MockConsumer::committed(const std::vector<TopicPartition>& partitions, int) {
  std::lock_guard lock(cluster_.mutex_);
  cluster_.check(MockCall::kCommitted);
  std::map<TopicPartition, Offset> out;
  const auto& group = cluster_.committed_[group_];
  for (const auto& tp : partitions) {
    if (auto it = group.find(tp); it != group.end()) out[tp] = it->second;
  }
  return out;
}

Watermarks MockConsumer::query_watermarks(const TopicPartition& tp, int) {
  std::lock_guard lock(cluster_.mutex_);
  cluster_.check(MockCall::kQueryWatermarks);
  return cluster_.partition_(tp).watermarks();
}

std::map<TopicPartition, Watermarks> MockConsumer::query_watermarks(const std::vector<TopicPartition>& partitions,
                                                                    int) {
  std::lock_guard lock(cluster_.mutex_);
  cluster_.check(MockCall::kQueryWatermarks);
  std::map<TopicPartition, Watermarks> out;
  for (const auto& tp : partitions) {
    out[tp] = cluster_.partition_(tp).watermarks();
  }
  return out;
}

SourceProgress MockConsumer::progress(const TopicPartition& tp, Offset next) {
  auto it = assignment_.find(tp);
  if (it == assignment_.end() || !it->second.seen_high) return SourceProgress::kUnknown;
  return next >= *it->second.seen_high ? SourceProgress::kCaughtUp : SourceProgress::kBehind;
}

std::optional<Offset> MockConsumer::cached_high_watermark(const TopicPartition& tp) {
  auto it = assignment_.find(tp);
  return it == assignment_.end() ? std::nullopt : it->second.seen_high;
}

std::optional<Offset> MockConsumer::position(const TopicPartition& tp) {
  auto it = assignment_.find(tp);
  if (it == assignment_.end()) return std::nullopt;
  return it->second.position;
}

std::map<std::string, int32_t> MockConsumer::topic_partitions(int) {
  std::lock_guard lock(cluster_.mutex_);
  cluster_.check(MockCall::kTopicPartitions);
  std::map<std::string, int32_t> out;
  for (const auto& [topic, parts] : cluster_.topics_) out[topic] = static_cast<int32_t>(parts.size());
  return out;
}

void MockConsumer::close(int) {
  if (closed_) return;
  closed_ = true;
  if (listener_ != nullptr && !assignment_.empty()) {
    // Leaving the group revokes what the member still has, as librdkafka's close does.
    std::vector<TopicPartition> all;
    for (const auto& [tp, a] : assignment_) all.push_back(tp);
    ++rebalances_;
    listener_->on_revoked(all);
  }
  assignment_.clear();
  std::lock_guard lock(cluster_.mutex_);
  auto it = cluster_.members_.find(group_);
  if (it != cluster_.members_.end() && it->second->consumer == this) it->second->consumer = nullptr;
}

}  // namespace couponflow::processor::testing
