#include "processor/testing/topology_test_driver.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "common/murmur2.h"
#include "processor/testing/mock_clients.h"
#include "state/rocksdb/rocksdb_store.h"

namespace couponflow::processor::testing {

/// The in-memory producer: appends to the driver's cluster, acknowledged at once.
class TopologyTestDriver::Collector final : public RecordCollector {
 public:
  explicit Collector(TopologyTestDriver& driver) : driver_(driver) {}

  void send(const std::string& topic, std::optional<Partition> partition,
            const Message& message) override {
    ++driver_.counts_[topic];
    if (std::find(driver_.options_.discard_topics.begin(), driver_.options_.discard_topics.end(),
                  topic) != driver_.options_.discard_topics.end()) {
      return;
    }
    driver_.ensure_topic(topic);
    const Partition p = driver_.partition_for(message.key, partition);
    const Offset offset = driver_.cluster_.append(topic, p, message.key ? std::optional<std::string>(*message.key) : std::nullopt,
                                                  message.value ? std::optional<std::string>(*message.value) : std::nullopt,
                                                  message.timestamp, message.headers);
    driver_.written_[topic].emplace_back(p, offset);
    acked_[{topic, p}] = offset;
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
      cache_budget_(std::make_shared<state::CacheBudget>(options_.store_cache_bytes)),
      collector_(std::make_unique<Collector>(*this)) {
  if (options_.state_dir.empty()) throw std::invalid_argument("TopologyTestDriver needs a state_dir");
  for (const auto& topic : topology_.topics(options_.application_id)) ensure_topic(topic);
  restore_consumer_ = std::make_unique<MockConsumer>(cluster_, options_.application_id + "-restore", nullptr);
  changelog_reader_ = std::make_unique<ChangelogReader>(
      *restore_consumer_, [](const char*, const std::function<void()>& call) { call(); });
  tasks_.resize(static_cast<size_t>(options_.partitions));
  for (int32_t p = 0; p < options_.partitions; ++p) open_task(Partition{p});
}

TopologyTestDriver::~TopologyTestDriver() { tasks_.clear(); }

void TopologyTestDriver::ensure_topic(const std::string& topic) { cluster_.create_topic(topic, options_.partitions); }

std::vector<LoggedRecord> TopologyTestDriver::log(const std::string& topic, Partition partition) const {
  return cluster_.records(TopicPartition{topic, partition});
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
  ensure_topic(topic);
  return cluster_.append(topic, partition_for(key, partition), key ? std::optional<std::string>(*key) : std::nullopt,
                         value ? std::optional<std::string>(*value) : std::nullopt, timestamp);
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
    // The cluster's records stay where they are while the task holds views of them:
    // its logs are only ever appended to.
    slot.fetched[s] = cluster_.for_each_record(sources[s], slot.fetched[s], [&](const LoggedRecord& lr) {
      Record r;
      r.topic = sources[s].topic;
      r.partition = lr.partition;
      r.offset = lr.offset;
      r.timestamp = lr.timestamp;
      if (lr.key) r.key = std::string_view(*lr.key);
      if (lr.value) r.value = std::string_view(*lr.value);
      slot.task->add_record(s, std::move(r));
    });
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
    out.push_back(cluster_.record_at(TopicPartition{topic, partition}, offset));
  }
  return out;
}

void TopologyTestDriver::commit() {
  for (auto& slot : tasks_) {
    // As the runtime's commit: outputs acknowledged (at once, here), the input position
    // recorded with the state, offsets committed, stores checkpointed.
    if (slot->task->dirty()) slot->task->record_source_offsets();
    const auto& sources = slot->task->source_partitions();
    const auto& next = slot->task->next_offsets();
    for (size_t s = 0; s < sources.size(); ++s) {
      committed_[sources[s]] = next[s];
      const auto& purged = options_.purge_committed_topics;
      if (std::find(purged.begin(), purged.end(), sources[s].topic) != purged.end()) {
        cluster_.delete_records(sources[s], next[s]);
      }
    }
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
  env.cache_budget = cache_budget_;
  slot->task = std::make_unique<Task>(TaskId{partition}, topology_, env);

  std::vector<Offset> committed;
  for (const auto& tp : slot->task->source_partitions()) {
    auto it = committed_.find(tp);
    committed.push_back(it == committed_.end() ? Offset{0} : it->second);
  }
  changelog_reader_->add_active({{slot->task.get(), slot->task->begin_restore(), committed}});
  // The cluster answers every fetch at once: read until the reader has restored the task.
  std::optional<std::vector<Offset>> start;
  std::vector<Record> batch;
  while (!start) {
    batch.clear();
    const size_t n = restore_consumer_->poll(batch, 10'000, 0);
    for (const auto& r : batch) changelog_reader_->apply(r);
    for (auto& [p, offsets] : changelog_reader_->take_restored()) {
      if (p == partition) start = std::move(offsets);
    }
    if (!start && n == 0 && batch.empty()) {
      if (changelog_reader_->settling()) {
        // Stores writing their restore in the background: the next round moves on.
        while (!slot->task->stores_settled()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        continue;
      }
      // Nothing more to read, yet not restored: only an end beyond the log could do it.
      for (auto& [p, offsets] : changelog_reader_->take_restored()) {
        if (p == partition) start = std::move(offsets);
      }
      if (!start) throw std::logic_error("TopologyTestDriver: a restore did not finish");
    }
  }
  slot->fetched = *start;
  slot->task->start_running(*start);
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
