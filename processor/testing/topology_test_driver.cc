#include "processor/testing/topology_test_driver.h"

#include <algorithm>
#include <stdexcept>

#include "common/murmur2.h"
#include "state/rocksdb/rocksdb_store.h"

namespace couponflow::processor::testing {

/// The in-memory producer: appends to the driver's logs, acknowledged at once.
class TopologyTestDriver::Collector final : public RecordCollector {
 public:
  explicit Collector(TopologyTestDriver& driver) : driver_(driver) {}

  void send(const std::string& topic, std::optional<Partition> partition,
            const Message& message) override {
    const Partition p = driver_.partition_for(message.key, partition);
    if (std::find(driver_.options_.discard_topics.begin(), driver_.options_.discard_topics.end(),
                  topic) != driver_.options_.discard_topics.end()) {
      ++driver_.counts_[topic];
      return;
    }
    LoggedRecord r;
    if (message.key) r.key.emplace(*message.key);
    if (message.value) r.value.emplace(*message.value);
    r.timestamp = message.timestamp;
    for (const auto& h : message.headers) r.headers.emplace_back(h.key, h.value);
    auto& log = driver_.log_mut(topic, p);
    r.partition = p;
    r.offset = Offset{static_cast<int64_t>(log.size())};
    driver_.written_[topic].emplace_back(p, r.offset);
    log.push_back(std::move(r));
    ++driver_.counts_[topic];
    acked_[{topic, p}] = Offset{static_cast<int64_t>(log.size()) - 1};
  }

  std::optional<Offset> last_acked_offset(const TopicPartition& tp) const override {
    auto it = acked_.find(tp);
    if (it == acked_.end()) return std::nullopt;
    return it->second;
  }

 private:
  TopologyTestDriver& driver_;
  std::map<TopicPartition, Offset> acked_;
};

struct TopologyTestDriver::TaskSlot {
  std::unique_ptr<Task> task;
  std::vector<Offset> fetched;  // next offset to hand to the task, per source
};

TopologyTestDriver::TopologyTestDriver(const topology::Topology& topology, Options options)
    : topology_(topology),
      options_(std::move(options)),
      clock_(options_.start_time_ms),
      store_factory_(std::make_unique<state::RocksDbStoreFactory>()),
      collector_(std::make_unique<Collector>(*this)) {
  if (options_.state_dir.empty()) throw std::invalid_argument("TopologyTestDriver needs a state_dir");
  tasks_.resize(static_cast<size_t>(options_.partitions));
  for (int32_t p = 0; p < options_.partitions; ++p) open_task(Partition{p});
}

TopologyTestDriver::~TopologyTestDriver() { tasks_.clear(); }

std::deque<LoggedRecord>& TopologyTestDriver::log_mut(const std::string& topic, Partition partition) {
  if (partition.value < 0 || partition.value >= options_.partitions) {
    throw std::out_of_range("partition out of range");
  }
  return logs_[TopicPartition{topic, partition}];
}

const std::deque<LoggedRecord>& TopologyTestDriver::log(const std::string& topic, Partition partition) {
  return log_mut(topic, partition);
}

uint64_t TopologyTestDriver::record_count(const std::string& topic) const {
  auto it = counts_.find(topic);
  return it == counts_.end() ? 0 : it->second;
}

Partition TopologyTestDriver::partition_for(std::optional<std::string_view> key,
                                            std::optional<Partition> p) const {
  if (p) return *p;
  if (!key) return Partition{0};
  return murmur2_partition(*key, options_.partitions);
}

Offset TopologyTestDriver::append(const std::string& topic, std::optional<std::string_view> key,
                                  std::optional<std::string_view> value, EpochMillis timestamp,
                                  std::optional<Partition> partition) {
  const Partition p = partition_for(key, partition);
  auto& log = log_mut(topic, p);
  LoggedRecord r;
  if (key) r.key.emplace(*key);
  if (value) r.value.emplace(*value);
  r.timestamp = timestamp;
  r.partition = p;
  r.offset = Offset{static_cast<int64_t>(log.size())};
  log.push_back(std::move(r));
  return log.back().offset;
}

Offset TopologyTestDriver::pipe(const std::string& topic, std::optional<std::string_view> key,
                                std::optional<std::string_view> value, EpochMillis timestamp,
                                std::optional<Partition> partition) {
  Offset o = append(topic, key, value, timestamp, partition);
  process_all();
  return o;
}

void TopologyTestDriver::feed(TaskSlot& slot) {
  const auto& sources = slot.task->source_partitions();
  for (size_t s = 0; s < sources.size(); ++s) {
    auto& log = log_mut(sources[s].topic, sources[s].partition);
    for (auto o = slot.fetched[s]; o.value < static_cast<int64_t>(log.size()); o = o.next()) {
      const LoggedRecord& lr = log[static_cast<size_t>(o.value)];
      Record r;
      r.topic = sources[s].topic;
      r.partition = lr.partition;
      r.offset = lr.offset;
      r.timestamp = lr.timestamp;
      if (lr.key) r.key = std::string_view(*lr.key);
      if (lr.value) r.value = std::string_view(*lr.value);
      slot.task->add_record(s, std::move(r));
    }
    slot.fetched[s] = Offset{static_cast<int64_t>(log.size())};
  }
}

void TopologyTestDriver::process_all() {
  // Everything is fetched at once, so every source is caught up when its buffer is empty.
  auto caught_up = [](size_t) { return SourceProgress::kCaughtUp; };
  for (auto& slot : tasks_) {
    feed(*slot);
    while (slot->task->process(SIZE_MAX, caught_up) > 0) {
    }
  }
}

std::vector<LoggedRecord> TopologyTestDriver::read_output(const std::string& topic) {
  std::vector<LoggedRecord> out;
  auto it = written_.find(topic);
  if (it == written_.end()) return out;
  size_t& cursor = read_cursor_[topic];
  for (; cursor < it->second.size(); ++cursor) {
    const auto& [partition, offset] = it->second[cursor];
    out.push_back(logs_.at(TopicPartition{topic, partition})[static_cast<size_t>(offset.value)]);
  }
  return out;
}

void TopologyTestDriver::commit() {
  for (auto& slot : tasks_) {
    const auto& sources = slot->task->source_partitions();
    const auto& next = slot->task->next_offsets();
    for (size_t s = 0; s < sources.size(); ++s) committed_[sources[s]] = next[s];
    slot->task->checkpoint();
  }
}

void TopologyTestDriver::open_task(Partition partition) {
  auto slot = std::make_unique<TaskSlot>();
  TaskEnvironment env;
  env.application_id = options_.application_id;
  env.partition_count = options_.partitions;
  env.task_dir = options_.state_dir / TaskId{partition}.str();
  env.store_factory = store_factory_.get();
  env.collector = collector_.get();
  env.clock = &clock_;
  env.metrics = &metrics_;
  env.per_record_metrics = options_.per_record_metrics;
  env.store_cache_bytes = options_.store_cache_bytes;
  slot->task = std::make_unique<Task>(TaskId{partition}, topology_, env);

  for (const ChangelogSpec& c : slot->task->begin_restore()) {
    auto& log = log_mut(c.changelog.topic, c.changelog.partition);
    Offset end{static_cast<int64_t>(log.size())};
    if (c.is_source_topic) {
      auto it = committed_.find(c.changelog);
      end = it == committed_.end() ? Offset{0} : it->second;
    }
    for (Offset o = c.position.value_or(Offset{0}); o < end; o = o.next()) {
      const LoggedRecord& lr = log[static_cast<size_t>(o.value)];
      Record r;
      r.topic = c.changelog.topic;
      r.partition = lr.partition;
      r.offset = lr.offset;
      r.timestamp = lr.timestamp;
      if (lr.key) r.key = std::string_view(*lr.key);
      if (lr.value) r.value = std::string_view(*lr.value);
      slot->task->restore(c.store_index, r);
    }
    slot->task->finish_restore(c.store_index, end);
  }

  std::vector<Offset> start;
  for (const auto& tp : slot->task->source_partitions()) {
    auto it = committed_.find(tp);
    start.push_back(it == committed_.end() ? Offset{0} : it->second);
  }
  slot->fetched = start;
  slot->task->start_running(start);
  tasks_[static_cast<size_t>(partition.value)] = std::move(slot);
}

void TopologyTestDriver::crash(Partition partition) {
  tasks_.at(static_cast<size_t>(partition.value))->task->close();
  open_task(partition);
  process_all();
}

void TopologyTestDriver::wipe(Partition partition) {
  tasks_.at(static_cast<size_t>(partition.value))->task->close();
  std::filesystem::remove_all(options_.state_dir / TaskId{partition}.str());
  open_task(partition);
  process_all();
}

Task& TopologyTestDriver::task(Partition partition) {
  return *tasks_.at(static_cast<size_t>(partition.value))->task;
}

state::MaterializedStore& TopologyTestDriver::store(Partition partition, std::string_view name) {
  return task(partition).store(name);
}

}  // namespace couponflow::processor::testing
