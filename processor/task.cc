#include "processor/task.h"

#include <array>
#include <cstring>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "common/errors.h"
#include "common/log.h"
#include "processor/instance_events.h"
#include "processor/store_opener.h"
#include "topology/dead_letter.h"

namespace couponflow::processor {

std::string_view to_string(TaskState state) {
  switch (state) {
    case TaskState::kCreated: return "CREATED";
    case TaskState::kRestoring: return "RESTORING";
    case TaskState::kRunning: return "RUNNING";
    case TaskState::kStandby: return "STANDBY";
    case TaskState::kClosed: return "CLOSED";
  }
  return "?";
}

std::optional<TaskState> task_state_from_string(std::string_view name) {
  for (TaskState state : {TaskState::kCreated, TaskState::kRestoring, TaskState::kRunning, TaskState::kStandby,
                          TaskState::kClosed}) {
    if (to_string(state) == name) return state;
  }
  return std::nullopt;
}

namespace {
// Restored changes are written out in batches of this many, so a long restore needs
// neither unbounded memory nor a restart from scratch if interrupted.
constexpr size_t kRestoreFlushEntries = 50'000;
// A task whose records wait this long for a lagging source says so, once per wait.
constexpr EpochMillis kWaitWarningMs = 30'000;
// Skipped records are each logged up to this many per task, then one in kSkipLogEvery.
constexpr uint64_t kSkipsLoggedInFull = 20;
constexpr uint64_t kSkipLogEvery = 1000;
}  // namespace

/// Sends one store's writes to its changelog partition, stamped with the timestamp of
/// the record being processed.
class Task::ChangelogAppender final : public state::ChangelogWriter {
 public:
  ChangelogAppender(Task& task, TopicPartition changelog)
      : task_(task), changelog_(std::move(changelog)) {}
  void append(std::string_view key, std::optional<std::string_view> value) override {
    // Stamped with the record being processed, or (input offsets recorded at a commit) now.
    Message m{key, value, task_.current_ != nullptr ? task_.current_->timestamp : task_.env_.clock->now_ms(), {}};
    task_.outputs_.add(changelog_.topic, changelog_.partition, m);
  }
  const TopicPartition& changelog() const { return changelog_; }

 private:
  Task& task_;
  TopicPartition changelog_;
};

/// The ProcessorContext of one processor node.
class Task::NodeContext final : public topology::ProcessorContext {
 public:
  NodeContext(Task& task, const topology::ProcessorNode& node) : task_(task), node_(node) {}

  TaskId task_id() const override { return task_.id_; }
  int32_t source_partition_count() const override { return task_.env_.partition_count; }
  // Inside Task::process, the clock read once for the whole call (see there).
  EpochMillis wall_clock_ms() const override {
    return task_.batch_now_ms_ ? *task_.batch_now_ms_ : task_.env_.clock->now_ms();
  }

  state::KeyValueStore& store(std::string_view name) override {
    auto& s = declared(name);
    if (s.spec().source_topic) {
      throw std::invalid_argument("store '" + std::string(name) +
                                  "' is a table, written only by its source: use read_store");
    }
    return s;
  }

  state::ReadableStore& read_store(std::string_view name) override {
    const auto dot = name.find('.');
    if (dot == std::string_view::npos) return declared(name);
    return declared(name.substr(0, dot)).view(name.substr(dot + 1));
  }

  topology::ProcessorMetrics& metrics() override { return *task_.metrics_; }

  topology::ChildRef child(std::string_view name) const override {
    for (uint32_t i = 0; i < node_.child_names.size(); ++i) {
      if (node_.child_names[i] == name) return {i};
    }
    throw std::out_of_range("processor '" + node_.name + "' has no child '" + std::string(name) + "'");
  }

  void forward(topology::ChildRef child, const Message& message) override {
    const topology::NodeRef target = node_.children.at(child.index);
    if (target.kind == topology::NodeKind::kSink) {
      task_.outputs_.add(task_.topology_.sinks()[target.index].topic, std::nullopt, message);
      return;
    }
    const Record& in = *task_.current_;
    Record forwarded{in.topic, in.partition, in.offset, message.timestamp, message.key, message.value};
    task_.deliver(target, forwarded);
  }

 private:
  state::MaterializedStore& declared(std::string_view name) {
    for (const auto& s : node_.stores) {
      if (s == name) return task_.store(name);
    }
    throw std::out_of_range("processor '" + node_.name + "' did not declare store '" +
                            std::string(name) + "'");
  }

  Task& task_;
  const topology::ProcessorNode& node_;
};

namespace {
std::vector<bool> table_flags(const topology::Topology& t) {
  std::vector<bool> flags;
  for (const auto& s : t.sources()) flags.push_back(s.is_table);
  return flags;
}
}  // namespace

Task::Task(TaskId id, const topology::Topology& topology, TaskEnvironment env)
    : id_(id), topology_(topology), env_(std::move(env)), group_(table_flags(topology)) {
  for (const auto& s : topology_.sources()) source_partitions_.push_back({s.topic, id_.partition});
  next_offsets_.assign(source_partitions_.size(), Offset{0});
}

Task::~Task() {
  if (state_ != TaskState::kClosed) close();
}

void Task::transition_to(TaskState next) {
  bool legal = false;
  switch (state_) {
    case TaskState::kCreated:
      legal = next == TaskState::kRestoring || next == TaskState::kStandby || next == TaskState::kClosed;
      break;
    case TaskState::kStandby: legal = next == TaskState::kClosed; break;
    case TaskState::kRestoring:
      legal = next == TaskState::kRunning || next == TaskState::kClosed;
      break;
    case TaskState::kRunning: legal = next == TaskState::kClosed; break;
    case TaskState::kClosed: legal = false; break;
  }
  if (!legal) {
    throw std::logic_error(fmt::format("task {}: illegal transition {} -> {}", id_,
                                       to_string(state_), to_string(next)));
  }
  log::info("task {} {} -> {}", id_, to_string(state_), to_string(next));
  if (env_.events != nullptr) env_.events->task_state(id_, state_, next);
  state_ = next;
}

std::vector<ChangelogSpec> Task::begin_restore(std::vector<std::unique_ptr<state::MaterializedStore>> handed_over) {
  transition_to(TaskState::kRestoring);
  return open_stores(std::move(handed_over));
}

std::vector<std::unique_ptr<state::MaterializedStore>> Task::release_stores() {
  if (state_ != TaskState::kStandby) throw std::logic_error("only a standby hands over its stores");
  appenders_.clear();
  return std::move(stores_);
}

std::vector<ChangelogSpec> Task::begin_standby() {
  transition_to(TaskState::kStandby);
  return open_stores();
}

std::vector<ChangelogSpec> Task::open_stores(std::vector<std::unique_ptr<state::MaterializedStore>> handed_over) {
  std::vector<ChangelogSpec> changelogs;
  for (size_t i = 0; i < topology_.stores().size(); ++i) {
    const state::StoreSpec& spec = topology_.stores()[i];
    std::unique_ptr<state::MaterializedStore> store;
    if (i < handed_over.size() && handed_over[i] && handed_over[i]->name() == spec.name) {
      store = std::move(handed_over[i]);  // open and warm already: no close and reopen
    } else {
      store = open_task_store(env_, spec);
    }
    TopicPartition changelog{state::changelog_topic(env_.application_id, spec), id_.partition};
    changelogs.push_back({i, changelog, store->position(), spec.source_topic.has_value()});
    appenders_.push_back(spec.source_topic ? nullptr
                                           : std::make_unique<ChangelogAppender>(*this, changelog));
    stores_.push_back(std::move(store));
  }
  return changelogs;
}

void Task::reset_store(size_t store_index) {
  const state::StoreSpec& spec = topology_.stores().at(store_index);
  stores_.at(store_index).reset();  // closes the database before its files go
  std::error_code ec;
  std::filesystem::remove_all(env_.task_dir / spec.name, ec);
  if (ec) throw FatalError(fmt::format("cannot delete {}: {}", (env_.task_dir / spec.name).string(), ec.message()));
  stores_[store_index] = open_task_store(env_, spec);
}

void Task::restore(size_t store_index, const Record& record) {
  state::MaterializedStore& store = *stores_.at(store_index);
  if (store.spec().source_topic) {
    // A table is restored through the same materializer that built it, so a record
    // skipped live is skipped here too.
    for (const auto& source : topology_.sources()) {
      if (source.is_table && source.table_store == store.spec().name) apply_table_record(source, record);
    }
  } else if (!record.key) {
    // The changelog writer never writes one (Kafka refuses them on compacted topics):
    // whoever did, it holds no state of ours, so it is counted and skipped.
    skip_record(record, "NO_KEY", "a changelog record without a key");
  } else {
    store.apply(*record.key, record.value);
  }
  ++stats_.restored;
  if (store.has_unflushed_writes() && stats_.restored % kRestoreFlushEntries == 0) {
    store.flush(record.offset.next());
  }
}

bool Task::apply_table_record(const topology::SourceNode& source, const Record& record) {
  const topology::TableUpdate update =
      source.materializer(topology::TableRecord{record.key, record.value, record.partition, env_.partition_count});
  state::MaterializedStore& table = store(source.table_store);
  switch (update.kind) {
    case topology::TableUpdate::Kind::kPut: table.apply(*record.key, update.value); return true;
    case topology::TableUpdate::Kind::kDelete: table.apply(*record.key, std::nullopt); return true;
    case topology::TableUpdate::Kind::kSkip: break;
  }
  ++stats_.skipped_table_records;
  skip_record(record, update.skip_label, update.reason);
  return false;
}

void Task::skip_record(const Record& record, std::string_view label, std::string_view reason) {
  env_.metrics
      ->counter("couponflow_records_skipped_total",
                "Table-source and changelog records that cannot be applied and were skipped, live or on restore.",
                {{"topic", std::string(record.topic)}, {"reason", std::string(label)}})
      .add();
  // One line per skipped record, with its position; a flood of them is summarised.
  ++skipped_records_;
  if (skipped_records_ <= kSkipsLoggedInFull || skipped_records_ % kSkipLogEvery == 0) {
    log::warn("task {}: record {}-{}@{} skipped ({}): {}{}", id_, record.topic, record.partition, record.offset, label,
              reason,
              skipped_records_ > kSkipsLoggedInFull ? fmt::format(" ({} skipped by this task so far)", skipped_records_)
                                                    : "");
  }
}

void Task::restore_in_bulk(size_t store_index) {
  if (state_ != TaskState::kRestoring) throw std::logic_error("only a restoring task restores in bulk");
  stores_.at(store_index)->begin_bulk_restore();
}

void Task::finish_restore(size_t store_index, Offset end) {
  state::MaterializedStore& store = *stores_.at(store_index);
  if (store.bulk_restoring()) {
    store.finish_bulk_restore_in_background(end);
    return;
  }
  store.flush(end);
}

bool Task::stores_settled() {
  bool settled = true;
  for (auto& store : stores_) settled = store->settled() && settled;  // each rethrows its own failure
  return settled;
}

void Task::start_running(const std::vector<Offset>& next_offsets) {
  if (next_offsets.size() != source_partitions_.size()) {
    throw std::invalid_argument("start_running: one offset per source expected");
  }
  next_offsets_ = next_offsets;
  for (size_t i = 0; i < stores_.size(); ++i) {
    if (appenders_[i]) stores_[i]->set_changelog(appenders_[i].get());
  }
  metrics_ = std::make_unique<TaskMetrics>(*env_.metrics, source_partitions_, env_.max_keyed_series);
  for (const auto& node : topology_.processors()) {
    processors_.push_back(node.factory());
    contexts_.push_back(std::make_unique<NodeContext>(*this, node));
  }
  for (size_t i = 0; i < processors_.size(); ++i) processors_[i]->init(*contexts_[i]);
  transition_to(TaskState::kRunning);
}

void Task::add_record(size_t source_index, Record record) {
  group_.add(source_index, std::move(record));
}

size_t Task::process(size_t max_records, const std::function<SourceProgress(size_t)>& progress) {
  using std::chrono::steady_clock;
  // The clocks are read once per call, not per record (a call processes at most
  // max_records, a few milliseconds' worth): the wall clock every decision of the call
  // reports, and the per-record latency, the call's duration over its records. Clock
  // reads were 5% of a decision's CPU.
  const EpochMillis now = env_.clock->now_ms();
  batch_now_ms_ = now;
  const auto started = steady_clock::now();
  // A source's progress only changes when a fetch response arrives, between calls: asked
  // once per call, not for every record while the source is empty (it takes a lock in
  // the client).
  progress_asked_.assign(source_partitions_.size(), std::nullopt);
  const std::function<SourceProgress(size_t)> progress_once = [&](size_t s) {
    if (!progress_asked_[s]) progress_asked_[s] = progress(s);
    return *progress_asked_[s];
  };
  processed_per_source_.assign(source_partitions_.size(), 0);
  size_t processed = 0;
  while (processed < max_records) {
    // Best effort (max.task.idle.ms < 0): a lagging source holds nothing back.
    auto choice = group_.next(progress_once, env_.max_idle_ms < 0);
    if (choice.kind == PartitionGroup::Choice::Kind::kEmpty) {
      idle_since_.reset();
      break;
    }
    if (choice.kind == PartitionGroup::Choice::Kind::kWaiting) {
      // An empty source has records in its log not fetched yet, or has not been heard
      // from since its assignment: one of them may come first, so nothing is decided
      // before they are read, however long that takes (a coupon defined before a
      // request must apply to it).
      if (!waiting_since_) waiting_since_ = now;
      if (now - *waiting_since_ >= kWaitWarningMs && !wait_warned_) {
        wait_warned_ = true;
        log::warn("task {}: {} buffered records wait for a lagging source (for {} s so far)", id_,
                  group_.total_buffered(), (now - *waiting_since_) / 1000);
      }
      break;
    }
    if (waiting_since_) {
      log::debug("task {}: a lagging source held its records back for {} ms", id_, now - *waiting_since_);
      waiting_since_.reset();
    }
    wait_warned_ = false;
    if (env_.max_idle_ms > 0 && group_.has_empty_source()) {
      // Kafka Streams' positive max.task.idle.ms: an empty source, though caught up,
      // holds the others back this long in case new records arrive on it.
      if (!idle_since_) idle_since_ = now;
      if (now - *idle_since_ < env_.max_idle_ms) break;
    } else {
      idle_since_.reset();
    }
    if (env_.max_idle_ms < 0 && group_.has_empty_source()) {
      if (stats_.enforced_processing++ == 0) {
        log::warn("task {}: processing while a source is empty, without waiting for it (max.task.idle.ms < 0)", id_);
      }
    }
    Record record = group_.pop(choice.source);
    process_source(choice.source, record);
    next_offsets_[choice.source] = record.offset.next();
    ++processed;
    ++processed_per_source_[choice.source];
    if (env_.per_record_metrics) {
      const EpochMillis age_ms = now - record.timestamp;
      metrics_->end_to_end_latency[choice.source]->observe(age_ms > 0 ? static_cast<double>(age_ms) / 1000 : 0.0);
    }
  }
  batch_now_ms_.reset();
  if (processed > 0 && env_.per_record_metrics) {
    const double seconds = std::chrono::duration<double>(steady_clock::now() - started).count();
    metrics_->process_latency->observe_n(seconds / static_cast<double>(processed), processed);
    for (size_t s = 0; s < processed_per_source_.size(); ++s) metrics_->processed[s]->add(processed_per_source_[s]);
  }
  stats_.processed += processed;
  if (processed > 0) dirty_ = true;
  return processed;
}

void Task::process_source(size_t source_index, const Record& record) {
  // Each try is atomic: store writes are undone and outputs dropped if it throws, so a
  // retry, or the dead letter that follows the last try, starts from a clean slate.
  std::string error;
  for (int attempt = 1; attempt <= env_.processing_attempts; ++attempt) {
    for (auto& s : stores_) s->begin_record();
    bool failed = false;
    try {
      apply_source(source_index, record);
    } catch (const FatalError&) {
      throw;  // not the record's fault: the engine cannot go on
    } catch (const TransactionAbortedError&) {
      throw;  // not the record's fault: the stream thread aborts and redoes the transaction
    } catch (const std::exception& e) {
      failed = true;
      error = e.what();
    }
    if (!failed) {
      for (auto& s : stores_) s->commit_record();
      current_ = nullptr;
      // Outside the try: a failure to hand outputs to the producer is the engine's, never
      // the record's, and must not turn into retries or a dead letter.
      outputs_.send_to(*env_.collector);
      return;
    }
    current_ = nullptr;
    for (auto& s : stores_) s->rollback_record();
    outputs_.clear();
    metrics_->retries->add();
    log::warn("task {}: processing {}-{}@{} failed (try {} of {}): {}", id_, record.topic, record.partition,
              record.offset, attempt, env_.processing_attempts, error);
    if (attempt < env_.processing_attempts) {
      std::this_thread::sleep_for(std::chrono::milliseconds(env_.retry_backoff_ms << (attempt - 1)));
    }
  }
  dead_letter(record, error);
}

void Task::apply_source(size_t source_index, const Record& record) {
  const topology::SourceNode& source = topology_.sources()[source_index];
  current_ = &record;
  if (source.is_table && !apply_table_record(source, record)) return;
  for (const auto child : source.children) deliver(child, record);
}

void Task::dead_letter(const Record& record, const std::string& error) {
  const auto& topic = topology_.dead_letter_topic();
  if (!topic) {
    throw FatalError(fmt::format("task {}: processing {}-{}@{} failed {} times and the topology has no dead "
                                 "letter topic: {}",
                                 id_, record.topic, record.partition, record.offset, env_.processing_attempts, error));
  }
  ++stats_.dead_lettered;
  const topology::DeadLetter entry(record, "PROCESSING_ERROR", error, env_.clock->now_ms());
  metrics_->dead_lettered->add();
  log::error("task {}: {}-{}@{} sent to {} after {} failed tries: {}", id_, record.topic, record.partition,
             record.offset, *topic, env_.processing_attempts, topology::quote_prefix(error, 512));
  env_.collector->send(*topic, std::nullopt, entry.message());
}

void Task::deliver(topology::NodeRef node, const Record& record) {
  switch (node.kind) {
    case topology::NodeKind::kProcessor: processors_[node.index]->process(record); return;
    case topology::NodeKind::kSink: {
      Message m{record.key, record.value, record.timestamp, {}};
      outputs_.add(topology_.sinks()[node.index].topic, std::nullopt, m);
      return;
    }
    case topology::NodeKind::kSource: throw std::logic_error("a source cannot be a child");
  }
}

namespace {
// Encoded source offsets: a version byte, then one little-endian int64 per source.
constexpr char kSourceOffsetsVersion = 1;
}  // namespace

bool Task::record_source_offsets() {
  for (size_t i = 0; i < stores_.size(); ++i) {
    if (!appenders_[i]) continue;
    std::string bytes(1 + next_offsets_.size() * sizeof(int64_t), '\0');
    bytes[0] = kSourceOffsetsVersion;
    for (size_t s = 0; s < next_offsets_.size(); ++s) {
      std::memcpy(bytes.data() + 1 + s * sizeof(int64_t), &next_offsets_[s].value, sizeof(int64_t));
    }
    stores_[i]->record_source_offsets(bytes);
    outputs_.send_to(*env_.collector);
    return true;
  }
  return false;
}

std::optional<std::vector<Offset>> Task::recorded_source_offsets() const {
  for (size_t i = 0; i < stores_.size(); ++i) {
    if (!appenders_[i]) continue;
    const auto bytes = stores_[i]->source_offsets();
    if (!bytes || bytes->empty()) return std::nullopt;  // none, or cleared by a reset
    const size_t n = source_partitions_.size();
    if (!bytes || bytes->size() != 1 + n * sizeof(int64_t) || (*bytes)[0] != kSourceOffsetsVersion) {
      if (bytes) log::warn("task {}: ignoring recorded input offsets of an unknown form", id_);
      return std::nullopt;
    }
    std::vector<Offset> offsets(n);
    for (size_t s = 0; s < n; ++s) std::memcpy(&offsets[s].value, bytes->data() + 1 + s * sizeof(int64_t), sizeof(int64_t));
    return offsets;
  }
  return std::nullopt;
}

void Task::checkpoint() {
  for (size_t i = 0; i < stores_.size(); ++i) {
    state::MaterializedStore& store = *stores_[i];
    Offset position = store.position().value_or(Offset{0});
    if (appenders_[i]) {
      auto acked = env_.collector->last_acked_offset(appenders_[i]->changelog());
      if (acked && acked->next() > position) position = acked->next();
    } else {
      for (size_t s = 0; s < topology_.sources().size(); ++s) {
        if (topology_.sources()[s].table_store == store.spec().name) position = next_offsets_[s];
      }
    }
    store.flush(position);
  }
  dirty_ = false;
}

void Task::close() {
  if (state_ == TaskState::kClosed) return;
  for (auto& p : processors_) {
    try {
      p->close();
    } catch (const std::exception& e) {
      log::error("task {}: processor close failed: {}", id_, e.what());
    }
  }
  processors_.clear();
  contexts_.clear();
  metrics_.reset();
  group_.clear();
  stores_.clear();
  appenders_.clear();
  transition_to(TaskState::kClosed);
}

state::MaterializedStore& Task::store(std::string_view name) {
  for (auto& s : stores_) {
    if (s->name() == name) return *s;
  }
  throw std::out_of_range(fmt::format("task {} has no store '{}'", id_, name));
}

}  // namespace couponflow::processor
