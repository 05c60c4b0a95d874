#include "processor/testing/mock_cluster.h"

#include <unistd.h>

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "common/errors.h"
#include "common/murmur2.h"
#include "processor/testing/mock_clients.h"

namespace couponflow::processor::testing {

std::optional<std::string_view> LoggedRecord::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return std::string_view(v);
  }
  return std::nullopt;
}

void throw_out_of_range(const TopicPartition& tp, Offset position, int64_t log_start) {
  throw FatalError(fmt::format("{}@{}: offset out of range (the log starts at {}): the log no longer holds records "
                               "this application has not read",
                               tp, position.value, log_start));
}

MockCluster::MockCluster() : MockCluster(Options{}) {}
MockCluster::MockCluster(Options options) : options_(options) {}
MockCluster::~MockCluster() = default;

void MockCluster::create_topic(const std::string& topic, int32_t partitions) {
  std::lock_guard lock(mutex_);
  auto& parts = topics_[topic];
  while (static_cast<int32_t>(parts.size()) < partitions) parts.push_back(std::make_unique<Partition_>());
}

void MockCluster::set_topic_config(const std::string& topic, const std::string& key, const std::string& value) {
  std::lock_guard lock(mutex_);
  topic_configs_[topic][key] = value;
}

int32_t MockCluster::partition_count(const std::string& topic) const {
  std::lock_guard lock(mutex_);
  auto it = topics_.find(topic);
  if (it == topics_.end()) throw FatalError("topic " + topic + " does not exist");
  return static_cast<int32_t>(it->second.size());
}

MockCluster::Partition_& MockCluster::partition_(const TopicPartition& tp) {
  return const_cast<Partition_&>(std::as_const(*this).partition_(tp));
}

const MockCluster::Partition_& MockCluster::partition_(const TopicPartition& tp) const {
  auto it = topics_.find(tp.topic);
  if (it == topics_.end()) throw FatalError("topic " + tp.topic + " does not exist");
  if (tp.partition.value < 0 || tp.partition.value >= static_cast<int32_t>(it->second.size())) {
    throw FatalError(fmt::format("{} does not exist", tp));
  }
  return *it->second[static_cast<size_t>(tp.partition.value)];
}

Offset MockCluster::append_locked(const TopicPartition& tp, LoggedRecord record) {
  Partition_& log = partition_(tp);
  record.partition = tp.partition;
  record.offset = Offset{log.end()};
  log.records.push_back(std::move(record));
  return log.records.back().offset;
}

Offset MockCluster::append(const std::string& topic, std::optional<Partition> partition,
                           std::optional<std::string> key, std::optional<std::string> value, EpochMillis timestamp,
                           std::span<const Header> headers) {
  const Partition p = partition ? *partition : key ? murmur2_partition(*key, partition_count(topic)) : Partition{0};
  std::lock_guard lock(mutex_);
  LoggedRecord r;
  r.key = std::move(key);
  r.value = std::move(value);
  r.timestamp = timestamp;
  for (const auto& h : headers) r.headers.emplace_back(h.key, h.value);
  const Offset offset = append_locked({topic, p}, std::move(r));
  wake_all();
  return offset;
}

void MockCluster::delete_records(const TopicPartition& tp, Offset before) {
  std::lock_guard lock(mutex_);
  Partition_& log = partition_(tp);
  while (log.log_start < std::min(before.value, log.end())) {
    log.records.pop_front();
    ++log.log_start;
  }
}

void MockCluster::append_transaction_marker(const TopicPartition& tp) {
  std::lock_guard lock(mutex_);
  LoggedRecord marker;
  marker.control = true;
  append_locked(tp, std::move(marker));
}

void MockCluster::set_committed(const std::string& group, const TopicPartition& tp, Offset offset) {
  std::lock_guard lock(mutex_);
  committed_[group][tp] = offset;
}

void MockCluster::keep_busy(const TopicPartition& tp, std::optional<LoggedRecord> record) {
  std::lock_guard lock(mutex_);
  if (record) {
    busy_[tp] = std::move(*record);
  } else {
    busy_.erase(tp);
  }
  wake_all();
}

Offset MockCluster::for_each_record(const TopicPartition& tp, Offset from,
                                    const std::function<void(const LoggedRecord&)>& fn) {
  const Partition_* log = nullptr;
  {
    std::lock_guard lock(mutex_);
    log = &partition_(tp);
  }
  if (from.value < log->log_start) throw_out_of_range(tp, from, log->log_start);
  const int64_t end = log->end();
  for (int64_t o = from.value; o < end; ++o) {
    const LoggedRecord& r = log->at(o);
    if (!r.control) fn(r);
  }
  return Offset{std::max(end, from.value)};
}

LoggedRecord MockCluster::record_at(const TopicPartition& tp, Offset offset) const {
  std::lock_guard lock(mutex_);
  const Partition_& log = partition_(tp);
  if (offset.value < log.log_start || offset.value >= log.end()) {
    throw std::out_of_range(fmt::format("{} has no offset {}", tp, offset.value));
  }
  return log.at(offset.value);
}

std::vector<LoggedRecord> MockCluster::records(const TopicPartition& tp) const {
  std::lock_guard lock(mutex_);
  std::vector<LoggedRecord> out;
  for (const auto& r : partition_(tp).records) {
    if (!r.control) out.push_back(r);
  }
  return out;
}

std::vector<LoggedRecord> MockCluster::records(const std::string& topic) const {
  std::vector<LoggedRecord> out;
  for (int32_t p = 0; p < partition_count(topic); ++p) {
    auto part = records(TopicPartition{topic, Partition{p}});
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

Watermarks MockCluster::watermarks(const TopicPartition& tp) const {
  std::lock_guard lock(mutex_);
  return partition_(tp).watermarks();
}

std::map<TopicPartition, Offset> MockCluster::committed(const std::string& group) const {
  std::lock_guard lock(mutex_);
  auto it = committed_.find(group);
  return it == committed_.end() ? std::map<TopicPartition, Offset>{} : it->second;
}

void MockCluster::inject(MockCall call, MockFault fault, int times) {
  std::lock_guard lock(mutex_);
  for (int i = 0; i < times; ++i) faults_[call].push_back(fault);
}

void MockCluster::set_down(bool down) {
  std::lock_guard lock(mutex_);
  down_ = down;
  wake_all();
}

void MockCluster::hold_fetches(const TopicPartition& tp, bool held) {
  std::lock_guard lock(mutex_);
  if (held) {
    held_.insert(tp);
  } else {
    held_.erase(tp);
  }
  wake_all();
}

void MockCluster::hold_deliveries(const TopicPartition& tp, bool held) {
  std::lock_guard lock(mutex_);
  if (held) {
    held_deliveries_.insert(tp);
  } else {
    held_deliveries_.erase(tp);
  }
}

int MockCluster::calls(MockCall call) const {
  std::lock_guard lock(mutex_);
  return calls_[static_cast<size_t>(call)];
}

void MockCluster::check(MockCall call, bool broker_call) {
  ++calls_[static_cast<size_t>(call)];
  auto it = faults_.find(call);
  if (it != faults_.end() && !it->second.empty()) {
    const MockFault fault = it->second.front();
    it->second.pop_front();
    switch (fault) {
      case MockFault::kTimeout: throw RetriableError("mock: the call timed out");
      case MockFault::kRebalanceInProgress: throw RetriableError("mock: Broker: Group rebalance in progress");
      case MockFault::kAbortable: throw TransactionAbortedError("mock: the transaction must be aborted");
      case MockFault::kFatal: throw FatalError("mock: fatal error");
    }
  }
  if (down_ && broker_call) throw RetriableError("mock: timed out (the broker is down)");
}

void MockCluster::wake_all() {
  const uint64_t one = 1;
  for (auto& [fd, pending] : wake_fds_) {
    if (pending) continue;
    pending = true;
    (void)!::write(fd, &one, sizeof one);
  }
}

void MockCluster::schedule(const std::string& group, int kind, const std::vector<TopicPartition>& partitions) {
  std::lock_guard lock(mutex_);
  auto& member = members_[group];
  if (!member) member = std::make_unique<Member>();
  member->events.push_back(Event{static_cast<Event::Kind>(kind), partitions});
  wake_all();
}

void MockCluster::assign(const std::string& group, const std::vector<TopicPartition>& partitions) {
  schedule(group, static_cast<int>(Event::Kind::kAssign), partitions);
}
void MockCluster::revoke(const std::string& group, const std::vector<TopicPartition>& partitions) {
  schedule(group, static_cast<int>(Event::Kind::kRevoke), partitions);
}
void MockCluster::lose(const std::string& group, const std::vector<TopicPartition>& partitions) {
  schedule(group, static_cast<int>(Event::Kind::kLose), partitions);
}

std::vector<TopicPartition> MockCluster::partitions(const std::string& topic) const {
  std::vector<TopicPartition> out;
  for (int32_t p = 0; p < partition_count(topic); ++p) out.push_back({topic, Partition{p}});
  return out;
}

void MockCluster::begin_rebalance(const std::string& group) {
  std::lock_guard lock(mutex_);
  auto& member = members_[group];
  if (!member) member = std::make_unique<Member>();
  member->rebalancing = true;
}

bool MockCluster::events_served(const std::string& group) const {
  std::lock_guard lock(mutex_);
  auto it = members_.find(group);
  return it == members_.end() || it->second->events.empty();
}

std::unique_ptr<Consumer> MockClientSupplier::consumer(const kafka::ClientProperties&, const std::string& group_id,
                                                       RebalanceListener* listener) {
  return std::make_unique<MockConsumer>(cluster_, group_id, listener);
}

std::unique_ptr<Producer> MockClientSupplier::producer(const kafka::ClientProperties& properties) {
  return std::make_unique<MockProducer>(cluster_, !properties.get("transactional.id").empty());
}

std::unique_ptr<Admin> MockClientSupplier::admin(const kafka::ClientProperties&) {
  return std::make_unique<MockAdmin>(cluster_);
}

}  // namespace couponflow::processor::testing
