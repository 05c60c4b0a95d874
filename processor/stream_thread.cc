#include "processor/stream_thread.h"

#include <poll.h>
#include <pthread.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <thread>

#include "common/errors.h"
#include "common/log.h"
#include "processor/kafka/kafka_producer.h"
#include "processor/partition_guard.h"
#include "state/rocksdb/rocksdb_store.h"
#include "state/state_directory.h"

namespace couponflow::processor {
namespace {
constexpr int kBrokerTimeoutMs = 10'000;
constexpr size_t kPollBatch = 10'000;
constexpr size_t kProcessBudget = 2'000;  // records per task per round, for fairness

/// Runs `fn` until it stops throwing RetriableError, for bounded broker calls made
/// while tasks are being set up (there is nothing useful to do before they succeed).
template <typename Fn>
auto with_retries(const char* what, Fn&& fn) {
  for (int attempt = 1;; ++attempt) {
    try {
      return fn();
    } catch (const RetriableError& e) {
      if (attempt >= 5) throw FatalError(fmt::format("{} failed {} times: {}", what, attempt, e.what()));
      log::warn("{} failed (attempt {}): {}; retrying", what, attempt, e.what());
      std::this_thread::sleep_for(std::chrono::milliseconds(200 * attempt));
    }
  }
}
}  // namespace

struct StreamThread::StandbySlot {
  std::unique_ptr<Task> task;
  struct Tail {
    size_t store;
    TopicPartition changelog;
    Offset next;  // the next changelog offset to apply
    bool dirty = false;
  };
  std::vector<Tail> tails;
};

struct StreamThread::TaskSlot {
  std::unique_ptr<Task> task;
  uint64_t created_epoch = 0;  // the main consumer's rebalance_count() at creation
  std::vector<Offset> start_offsets;  // per source
  std::vector<Offset> fetched;        // per source: next offset the task expects
  struct Restore {
    size_t store;
    TopicPartition changelog;
    Offset end;
  };
  std::vector<Restore> restoring;
  EpochMillis restore_started_ms = 0;
  uint64_t restored_records = 0;
  uint64_t restored_bytes = 0;  // keys and values, as read from the changelogs
  std::set<size_t> paused_sources;
};

StreamThread::StreamThread(const topology::Topology& topology, StreamsConfig config)
    : topology_(topology), config_(std::move(config)) {
  size_t streams = 0;
  for (size_t i = 0; i < topology_.sources().size(); ++i) {
    if (!topology_.sources()[i].is_table) {
      primary_source_ = i;
      ++streams;
    }
  }
  if (streams != 1) {
    throw FatalError("the runtime reads one stream source per topology; make the others tables");
  }
  if (config_.bootstrap.empty()) throw FatalError("no bootstrap servers given");
}

StreamThread::~StreamThread() {
  // After a clean shutdown there is nothing left to do here. If run() ended with an
  // exception, nothing processed since the last commit may be committed now: close the
  // tasks without committing (their changelog restores what their stores did not
  // checkpoint), then the clients, whose close would otherwise call back into tasks
  // already destroyed.
  abandoned_ = true;
  try {
    while (!tasks_.empty()) close_task(Partition{tasks_.begin()->first}, false);
    while (!standbys_.empty()) close_standby(Partition{standbys_.begin()->first}, false);
    if (main_) main_->close();
    if (side_) side_->close();
  } catch (const std::exception& e) {
    log::warn("closing after a failure: {}", e.what());
  }
}

ThreadStatus StreamThread::status() const {
  std::lock_guard lock(status_mutex_);
  return status_;
}

void StreamThread::publish_status() {
  ThreadStatus s;
  s.running = !stopping_ && main_ != nullptr;
  for (const auto& [p, slot] : tasks_) {
    s.tasks.push_back({Partition{p}, slot->task->state(), slot->task->stats().processed,
                       slot->task->stats().restored});
  }
  for (const auto& [p, slot] : standbys_) s.standbys.push_back(Partition{p});
  s.processed = processed_total_;
  s.commits = commits_;
  s.rebalances = rebalances_;
  s.aborted_transactions = aborts_;
  std::lock_guard lock(status_mutex_);
  status_ = std::move(s);
}

void StreamThread::run(const std::atomic<bool>& stop) {
  pthread_setname_np(pthread_self(), "cf-stream");  // visible in top -H, perf, gdb
  start();
  while (!stop.load(std::memory_order_relaxed)) step();
  shutdown();
}

void StreamThread::start() {
  log::info("starting: application {} on {}, state in {}", config_.application_id, config_.bootstrap,
            config_.state_dir.string());
  state_dir_ = std::make_unique<state::StateDirectory>(config_.state_dir, config_.application_id);
  store_factory_ = std::make_unique<state::RocksDbStoreFactory>();

  kafka::ClientProperties common{{"bootstrap.servers", config_.bootstrap},
                                 {"client.id", config_.instance_id.empty() ? config_.application_id
                                                                           : config_.instance_id}};
  common.merge(config_.client);
  const bool eos = exactly_once();
  kafka::ClientProperties producer_props = common;
  if (eos) {
    producer_props.set("transactional.id", transactional_id());
    producer_props.set("transaction.timeout.ms", "60000");
  }
  producer_props.merge(config_.producer);
  kafka::ClientProperties main_props = common;
  if (!config_.instance_id.empty()) main_props.set("group.instance.id", config_.instance_id);
  // Exactly-once reads only committed transactions, changelogs included.
  if (eos) main_props.set("isolation.level", "read_committed");
  main_props.merge(config_.consumer);
  kafka::ClientProperties side_props = common;
  if (eos) side_props.set("isolation.level", "read_committed");
  side_props.merge(config_.consumer);

  producer_ = std::make_unique<kafka::KafkaProducer>(producer_props);
  main_ = std::make_unique<kafka::KafkaConsumer>(main_props, config_.application_id,
                                                 static_cast<kafka::RebalanceListener*>(this));
  // The side consumer reads changelogs and tables by explicit assignment; it never
  // joins the group or commits.
  side_ = std::make_unique<kafka::KafkaConsumer>(side_props, config_.application_id + "-restore", nullptr);

  // Every topic must exist with the right partition count before anything is read:
  // an unknown topic would be auto-created by some brokers with the wrong count.
  const auto partitions = with_retries("reading cluster metadata",
                                       [&] { return main_->topic_partitions(kBrokerTimeoutMs); });
  const std::string& primary = topology_.primary_source().topic;
  std::vector<std::string> missing;
  for (const auto& topic : topology_.topics(config_.application_id)) {
    if (!partitions.contains(topic)) missing.push_back(topic);
  }
  if (!missing.empty()) {
    throw FatalError(fmt::format("missing topic(s): {}; create them first (see README: Topics)",
                                 fmt::join(missing, ", ")));
  }
  partition_count_ = check_partitioning(primary, co_partitioned_topics(), partitions,
                                        state_dir_->recorded_partitions());
  state_dir_->record_partitions(partition_count_);
  last_partition_check_ms_ = clock_.now_ms();
  std::vector<std::string> outputs;
  for (const auto& sink : topology_.sinks()) outputs.push_back(sink.topic);
  for (const auto& store : topology_.stores()) {
    if (!store.source_topic) outputs.push_back(state::changelog_topic(config_.application_id, store));
  }
  producer_->warm_up(outputs);

  if (eos) {
    with_retries("initializing transactions", [&] {
      producer_->init_transactions(kBrokerTimeoutMs);
      return 0;
    });
    producer_->begin_transaction();
    log::info("exactly_once_v2: transactional.id {}", transactional_id());
  }
  main_->subscribe({primary});
  last_commit_ms_ = clock_.now_ms();
  log::info("subscribed to {} ({} partitions)", primary, partition_count_);
  publish_status();
}

void StreamThread::step() {
  bool has_buffered = false;
  for (const auto& [p, slot] : tasks_) {
    if (slot->task->state() != TaskState::kRunning) continue;
    for (size_t s = 0; s < slot->task->source_partitions().size(); ++s) {
      has_buffered = has_buffered || slot->task->buffered(s) > 0;
    }
  }
  const EpochMillis now = clock_.now_ms();
  const int64_t until_commit = std::max<int64_t>(0, last_commit_ms_ + config_.commit_interval_ms - now);
  // How long to sleep: not at all while the last round made progress, or while a full
  // poll batch says the consumer queue may not be empty (librdkafka only wakes us when
  // it goes from empty to non-empty). Briefly while records wait for a lagging source
  // to catch up: that is learnt from fetch responses, which wake nobody. Otherwise
  // until records arrive or the next commit (at most 100 ms, to notice a stop request).
  int timeout = static_cast<int>(std::min<int64_t>(until_commit, 100));
  if (more_records_ || last_processed_ > 0) {
    timeout = 0;
  } else if (has_buffered) {
    timeout = std::min(timeout, 5);
  }
  if (timeout > 0) {
    pollfd fds[2] = {{main_->wakeup_fd(), POLLIN, 0}, {side_->wakeup_fd(), POLLIN, 0}};
    ::poll(fds, 2, timeout);
  }

  batch_.clear();
  more_records_ = main_->poll(batch_, kPollBatch, 0) == kPollBatch;
  route_main(batch_, main_->last_batch_epoch());
  batch_.clear();
  const size_t side_records = side_->poll(batch_, kPollBatch, 0);
  more_records_ = more_records_ || side_records == kPollBatch;
  route_side(batch_);
  batch_.clear();
  if (side_records == 0) check_restore_positions();

  const size_t processed = process_tasks();
  last_processed_ = processed;
  apply_backpressure();
  if (clock_.now_ms() - last_partition_check_ms_ >= config_.partition_check_interval_ms) {
    check_partition_counts();
    last_partition_check_ms_ = clock_.now_ms();
  }
  if (clock_.now_ms() - last_commit_ms_ >= config_.commit_interval_ms) {
    commit_all();
    flush_standbys();
    last_commit_ms_ = clock_.now_ms();
    publish_status();
  } else if (processed == 0) {
    publish_status();
  }
  producer_->poll();
}

std::vector<std::string> StreamThread::co_partitioned_topics() const {
  std::vector<std::string> topics;
  for (const auto& source : topology_.sources()) topics.push_back(source.topic);
  for (const auto& store : topology_.stores()) topics.push_back(state::changelog_topic(config_.application_id, store));
  return topics;
}

void StreamThread::check_partition_counts() {
  // librdkafka would notice new partitions only at its next metadata refresh (5 min by
  // default) and only for subscribed topics; the catalog is not subscribed.
  std::map<std::string, int32_t> partitions;
  try {
    partitions = main_->topic_partitions(kBrokerTimeoutMs);
  } catch (const RetriableError& e) {
    log::warn("partition count check postponed: {}", e.what());
    return;
  }
  check_partitioning(topology_.primary_source().topic, co_partitioned_topics(), partitions, partition_count_);
}

void StreamThread::route_main(std::vector<Record>& records, uint64_t epoch) {
  for (auto& r : records) {
    auto it = tasks_.find(r.partition.value);
    if (it == tasks_.end()) continue;  // no longer ours
    // Fetched for a task that has since been closed and opened again: the new task
    // reads from its own start offset; handing it these would skip or repeat records.
    if (it->second->created_epoch > epoch) continue;
    add_input(*it->second, primary_source_, std::move(r));
  }
}

void StreamThread::add_input(TaskSlot& slot, size_t source, Record record) {
  // Offsets only move forward within a task: anything below what it already received
  // is a stale or repeated fetch, and handing it over would reorder the input.
  Offset& fetched = slot.fetched.at(source);
  if (record.offset < fetched) {
    log::debug("task {}: dropped {}-{}@{} (already at {})", slot.task->id(), record.topic, record.partition,
               record.offset, fetched);
    return;
  }
  fetched = record.offset.next();
  slot.task->add_record(source, std::move(record));
}

void StreamThread::route_side(std::vector<Record>& records) {
  for (auto& r : records) {
    auto route = side_routes_.find(TopicPartition{std::string(r.topic), r.partition});
    if (route == side_routes_.end()) continue;  // a partition just unassigned
    if (route->second.kind == SideRoute::Kind::kStandby) {
      StandbySlot& standby = *standbys_.at(route->second.task.value);
      for (auto& tail : standby.tails) {
        if (tail.store != route->second.index || r.offset < tail.next) continue;
        standby.task->restore(tail.store, r);
        tail.next = r.offset.next();
        tail.dirty = true;
      }
      continue;
    }
    TaskSlot& slot = *tasks_.at(route->second.task.value);
    if (route->second.kind == SideRoute::Kind::kTable) {
      add_input(slot, route->second.index, std::move(r));
      continue;
    }
    auto restore = std::find_if(slot.restoring.begin(), slot.restoring.end(),
                                [&](const auto& x) { return x.store == route->second.index; });
    if (restore == slot.restoring.end()) continue;  // finished; a late record of a batch
    // A record at or past the end belongs to what processing will read (a table's
    // source beyond the committed offset): never applied here.
    if (r.offset < restore->end) {
      slot.task->restore(route->second.index, r);
      ++slot.restored_records;
      slot.restored_bytes += (r.key ? r.key->size() : 0) + (r.value ? r.value->size() : 0);
    }
    if (r.offset.next() >= restore->end) finish_restore(slot, restore->store);
  }
}

void StreamThread::finish_restore(TaskSlot& slot, size_t store) {
  auto restore = std::find_if(slot.restoring.begin(), slot.restoring.end(),
                              [&](const auto& x) { return x.store == store; });
  slot.task->finish_restore(store, restore->end);
  const TopicPartition changelog = restore->changelog;
  slot.restoring.erase(restore);
  side_routes_.erase(changelog);
  side_->unassign({changelog});
  if (slot.restoring.empty()) start_task(slot);
}

void StreamThread::check_restore_positions() {
  // Offsets that hold no record (compacted away, transaction markers) are never
  // delivered, so a restore also ends when the fetch position has passed its end.
  for (auto& [p, slot] : tasks_) {
    for (size_t i = 0; i < slot->restoring.size();) {
      const auto& restore = slot->restoring[i];
      const auto position = side_->position(restore.changelog);
      if (position && *position >= restore.end) {
        finish_restore(*slot, restore.store);  // erases restoring[i]
        i = 0;
        if (slot->task->state() != TaskState::kRestoring) break;
      } else {
        ++i;
      }
    }
  }
}

size_t StreamThread::process_tasks() {
  size_t total = 0;
  for (auto& [p, slot] : tasks_) {
    Task& task = *slot->task;
    if (task.state() != TaskState::kRunning) continue;
    const auto& sources = task.source_partitions();
    const size_t n = task.process(kProcessBudget, [&](size_t s) {
      kafka::KafkaConsumer& consumer = s == primary_source_ ? *main_ : *side_;
      return consumer.progress(sources[s], task.next_offsets()[s]);
    });
    total += n;
  }
  processed_total_ += total;
  return total;
}

void StreamThread::apply_backpressure() {
  for (auto& [p, slot] : tasks_) {
    Task& task = *slot->task;
    if (task.state() != TaskState::kRunning) continue;
    for (size_t s = 0; s < task.source_partitions().size(); ++s) {
      kafka::KafkaConsumer& consumer = s == primary_source_ ? *main_ : *side_;
      const bool paused = slot->paused_sources.contains(s);
      if (!paused && task.buffered(s) >= config_.max_buffered_records) {
        consumer.pause({task.source_partitions()[s]});
        slot->paused_sources.insert(s);
      } else if (paused && task.buffered(s) < config_.max_buffered_records / 2) {
        consumer.resume({task.source_partitions()[s]});
        slot->paused_sources.erase(s);
      }
    }
  }
}

bool StreamThread::commit_all() {
  std::vector<std::pair<TopicPartition, Offset>> offsets;
  bool dirty = false;
  for (auto& [p, slot] : tasks_) {
    Task& task = *slot->task;
    if (task.state() != TaskState::kRunning) continue;
    dirty = dirty || task.dirty();
    for (size_t s = 0; s < task.source_partitions().size(); ++s) {
      offsets.emplace_back(task.source_partitions()[s], task.next_offsets()[s]);
    }
  }
  if (!dirty) return true;
  using std::chrono::steady_clock;
  const auto started = steady_clock::now();
  steady_clock::time_point flushed, committed;
  try {
    if (exactly_once()) {
      // Outputs, changelog records and input offsets become visible together.
      producer_->send_offsets_to_transaction(offsets, main_->native_handle(), kBrokerTimeoutMs);
      flushed = steady_clock::now();
      producer_->commit_transaction(kBrokerTimeoutMs);
      producer_->begin_transaction();
      committed = steady_clock::now();
      // Stores may only be checkpointed once the offsets are stored.
      if (!mirror_transactional_offsets(offsets)) return false;
    } else {
      producer_->flush(30'000);
      flushed = steady_clock::now();
      main_->commit(offsets);
      committed = steady_clock::now();
    }
  } catch (const RetriableError& e) {
    log::warn("commit postponed: {}", e.what());
    return false;
  } catch (const TransactionAbortedError& e) {
    abort_and_redo(e.what());
    return false;
  }
  for (auto& [p, slot] : tasks_) {
    if (slot->task->state() == TaskState::kRunning && slot->task->dirty()) slot->task->checkpoint();
  }
  ++commits_;
  const auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  const double total = ms(steady_clock::now() - started);
  const log::Level level = total > 1000 ? log::Level::kWarn : log::Level::kDebug;
  if (log::enabled(level)) {
    log::write(level, fmt::format("commit took {:.1f} ms: flush {:.1f}, offsets {:.1f}, checkpoint {:.1f}", total,
                                  ms(flushed - started), ms(committed - flushed), ms(steady_clock::now() - committed)));
  }
  return true;
}

void StreamThread::update_standbys() {
  if (config_.num_standby_replicas <= 0 || stopping_) return;
  for (auto it = standbys_.begin(); it != standbys_.end();) {
    const int32_t p = (it++)->first;  // close_standby erases
    if (tasks_.contains(p)) close_standby(Partition{p}, false);
  }
  for (int32_t p = 0; p < partition_count_; ++p) {
    if (!tasks_.contains(p) && !standbys_.contains(p)) open_standby(Partition{p});
  }
}

void StreamThread::open_standby(Partition partition) {
  auto slot = std::make_unique<StandbySlot>();
  TaskEnvironment env;
  env.application_id = config_.application_id;
  env.partition_count = partition_count_;
  env.task_dir = state_dir_->task_dir(TaskId{partition});
  env.store_factory = store_factory_.get();
  env.collector = producer_.get();
  env.clock = &clock_;
  env.store_cache_bytes = config_.store_cache_bytes;
  slot->task = std::make_unique<Task>(TaskId{partition}, topology_, env);
  for (const ChangelogSpec& c : slot->task->begin_standby()) {
    if (c.is_source_topic) continue;  // a table restores from its topic on takeover: small
    const Offset start = c.position.value_or(Offset{0});
    kafka::Watermarks wm;
    try {
      wm = side_->query_watermarks(c.changelog, kBrokerTimeoutMs);
    } catch (const RetriableError& e) {
      log::warn("standby {}: not kept for now: {}", TaskId{partition}, e.what());
      return;  // nothing registered yet: the slot just closes
    }
    if (start < wm.low || start > wm.high) {
      // Optional by nature: a standby that cannot be built is skipped, loudly; the
      // active task's restore makes the same check and stops if it must.
      log::warn("standby {}: not kept: its store is at {} but {} spans {}..{}", TaskId{partition}, start,
                c.changelog, wm.low, wm.high);
      return;
    }
    slot->tails.push_back({c.store_index, c.changelog, start});
  }
  for (const auto& tail : slot->tails) {
    log::info("standby {}: tailing {} from offset {}", TaskId{partition}, tail.changelog, tail.next);
    side_routes_[tail.changelog] = SideRoute{partition, SideRoute::Kind::kStandby, tail.store};
    side_->assign({{tail.changelog, tail.next}});
  }
  standbys_[partition.value] = std::move(slot);
}

void StreamThread::close_standby(Partition partition, bool hand_over) {
  auto it = standbys_.find(partition.value);
  if (it == standbys_.end()) return;
  StandbySlot& slot = *it->second;
  std::vector<TopicPartition> changelogs;
  for (auto& tail : slot.tails) {
    slot.task->finish_restore(tail.store, tail.next);  // durable: the next owner starts there
    changelogs.push_back(tail.changelog);
    side_routes_.erase(tail.changelog);
    log::info("standby {}: handing over {} at offset {}", TaskId{partition}, tail.changelog, tail.next);
  }
  side_->unassign(changelogs);
  if (hand_over) handed_over_[partition.value] = slot.task->release_stores();
  slot.task->close();
  standbys_.erase(it);
}

void StreamThread::flush_standbys() {
  for (auto& [p, slot] : standbys_) {
    for (auto& tail : slot->tails) {
      if (!tail.dirty) continue;
      slot->task->finish_restore(tail.store, tail.next);
      tail.dirty = false;
    }
  }
}

bool StreamThread::exactly_once() const { return config_.guarantee == Guarantee::kExactlyOnceV2; }

std::string StreamThread::transactional_id() const {
  // Stable across restarts of the same instance, so a restarted instance fences the
  // producer of its previous life.
  if (!config_.instance_id.empty()) return config_.application_id + "-" + config_.instance_id;
  const auto dir = std::filesystem::absolute(config_.state_dir).string();
  return fmt::format("{}-{:08x}", config_.application_id, static_cast<uint32_t>(std::hash<std::string>{}(dir)));
}

bool StreamThread::mirror_transactional_offsets(const std::vector<std::pair<TopicPartition, Offset>>& offsets) {
  // A broker that accepts send_offsets_to_transaction but stores nothing (the embedded
  // broker does exactly that) would make every restart re-read from the beginning.
  // Checked once after the first transaction; if so, offsets are also committed
  // directly after each transaction commit. Returns whether the offsets are stored.
  if (!offsets_checked_ && !offsets.empty()) {
    offsets_checked_ = true;
    try {
      auto stored = main_->committed({offsets.front().first}, kBrokerTimeoutMs);
      auto it = stored.find(offsets.front().first);
      mirror_offsets_ = it == stored.end() || it->second != offsets.front().second;
    } catch (const RetriableError& e) {
      offsets_checked_ = false;  // ask again after the next transaction
      log::warn("could not check the offsets stored with the transaction: {}", e.what());
      return false;
    }
    if (mirror_offsets_) {
      log::warn("the broker did not store the offsets committed with the transaction; committing them directly "
                "after each transaction as well");
    }
  }
  if (!mirror_offsets_) return true;
  try {
    main_->commit(offsets);
    return true;
  } catch (const RetriableError& e) {
    log::warn("direct offset commit after the transaction failed, checkpoint postponed: {}", e.what());
    return false;
  }
}

void StreamThread::abort_and_redo(const std::string& reason) {
  ++aborts_;
  log::warn("aborting the transaction and redoing its work from the last commit: {}", reason);
  producer_->abort_transaction(kBrokerTimeoutMs);
  // Every task's work since the last commit was in the aborted transaction: reopen the
  // tasks, so that their stores drop it and their input resumes at the committed offsets.
  std::vector<Partition> partitions;
  for (const auto& [p, slot] : tasks_) partitions.push_back(Partition{p});
  for (auto p : partitions) close_task(p, false);
  open_tasks(partitions, /*already_assigned=*/true);
  producer_->begin_transaction();
}

void StreamThread::on_assigned(const std::vector<TopicPartition>& partitions) {
  ++rebalances_;
  if (stopping_) {
    // The group can still hand out partitions while we leave it; they are revoked
    // again as the close completes, so no task is opened for them.
    log::info("assigned {} partition(s) while shutting down: not opening tasks", partitions.size());
    return;
  }
  std::vector<Partition> mine;
  for (const auto& tp : partitions) {
    if (tp.topic != topology_.primary_source().topic) {
      throw FatalError("assigned a partition of unexpected topic " + tp.topic);
    }
    if (tp.partition.value >= partition_count_) {
      // The group saw more partitions than we started with: repartitioned under us.
      check_partitioning(tp.topic, {}, {{tp.topic, tp.partition.value + 1}}, partition_count_);
    }
    mine.push_back(tp.partition);
  }
  for (auto p : mine) close_standby(p, true);  // its stores become the task's, open and warm
  open_tasks(mine, /*already_assigned=*/false);
  update_standbys();
  publish_status();
}

void StreamThread::open_tasks(const std::vector<Partition>& partitions, bool already_assigned) {
  std::vector<TopicPartition> inputs;
  std::vector<TaskSlot*> opened;
  for (Partition p : partitions) {
    auto slot = std::make_unique<TaskSlot>();
    TaskEnvironment env;
    env.application_id = config_.application_id;
    env.partition_count = partition_count_;
    env.task_dir = state_dir_->task_dir(TaskId{p});
    env.store_factory = store_factory_.get();
    env.collector = producer_.get();
    env.clock = &clock_;
    env.store_cache_bytes = config_.store_cache_bytes;
    env.max_idle_ms = config_.max_task_idle_ms;
    env.processing_attempts = config_.processing_attempts;
    env.retry_backoff_ms = config_.retry_backoff_ms;
    slot->task = std::make_unique<Task>(TaskId{p}, topology_, env);
    slot->created_epoch = main_->rebalance_count();
    for (const auto& tp : slot->task->source_partitions()) inputs.push_back(tp);
    opened.push_back(slot.get());
    tasks_[p.value] = std::move(slot);
  }
  const auto committed =
      with_retries("reading committed offsets", [&] { return main_->committed(inputs, kBrokerTimeoutMs); });

  std::vector<std::pair<TopicPartition, std::optional<Offset>>> main_assignment;
  std::vector<TopicPartition> to_pause;
  for (TaskSlot* slot : opened) {
    Task& task = *slot->task;
    const auto& sources = task.source_partitions();
    for (size_t s = 0; s < sources.size(); ++s) {
      auto it = committed.find(sources[s]);
      if (it != committed.end()) {
        slot->start_offsets.push_back(it->second);
        continue;
      }
      // Never committed: start at the log start, which must be 0 unless the topic's
      // retention removed records before this application ever read them.
      const auto wm = with_retries("reading watermarks", [&] { return side_->query_watermarks(sources[s], kBrokerTimeoutMs); });
      if (wm.low.value > 0) {
        log::warn("task {}: {} starts at offset {}: earlier records were deleted before this "
                  "application first read them",
                  task.id(), sources[s], wm.low);
      }
      slot->start_offsets.push_back(wm.low);
    }
    slot->fetched = slot->start_offsets;
    main_assignment.emplace_back(sources[primary_source_], slot->start_offsets[primary_source_]);

    slot->restore_started_ms = clock_.now_ms();
    std::vector<std::unique_ptr<state::MaterializedStore>> handed_over;
    if (auto h = handed_over_.find(task.id().partition.value); h != handed_over_.end()) {
      handed_over = std::move(h->second);
      handed_over_.erase(h);
    }
    for (const ChangelogSpec& c : task.begin_restore(std::move(handed_over))) {
      const auto wm = with_retries("reading watermarks",
                                   [&] { return side_->query_watermarks(c.changelog, kBrokerTimeoutMs); });
      const std::string store = topology_.stores()[c.store_index].name;
      Offset end = wm.high;
      if (c.is_source_topic) {
        for (size_t s = 0; s < sources.size(); ++s) {
          if (sources[s] == c.changelog) end = slot->start_offsets[s];
        }
      }
      Offset start = c.position.value_or(Offset{0});
      if (start > end && c.is_source_topic) {
        // A table checkpointed past the committed input offset (a commit that failed
        // after its checkpoint could only be this): rebuilt from its topic, which holds
        // every row, rather than replaying requests against rows from their future.
        log::warn("task {}: table store {} is at {} but {} was committed at {}; rebuilding it from the topic",
                  task.id(), store, start, c.changelog, end);
        task.reset_store(c.store_index);
        start = Offset{0};
      }
      if (start > end) {
        throw FatalError(fmt::format(
            "task {}: store {} holds changelog {} up to offset {} but the log ends at {}: the "
            "changelog was deleted or recreated; delete {} to rebuild the store",
            task.id(), store, c.changelog, start, end, state_dir_->task_dir(task.id()).string()));
      }
      if (start < wm.low && start < end) {
        throw FatalError(fmt::format(
            "task {}: cannot restore store {}: needs {} from offset {} but the log now starts at "
            "{} (records were deleted: on Kafka a changelog must be compacted, never deleted; "
            "the embedded broker drops the oldest records beyond ~5 MB per partition)",
            task.id(), store, c.changelog, start, wm.low));
      }
      if (start == end) {
        task.finish_restore(c.store_index, end);
        continue;
      }
      log::info("task {}: restoring store {} from {} offsets {}..{} ({} records)", task.id(), store,
                c.changelog, start, end, end.value - start.value);
      slot->restoring.push_back({c.store_index, c.changelog, end});
      side_routes_[c.changelog] = SideRoute{task.id().partition, SideRoute::Kind::kRestore, c.store_index};
      side_->assign({{c.changelog, start}});
    }
    if (!slot->restoring.empty()) to_pause.push_back(sources[primary_source_]);
  }
  if (already_assigned) {
    // Reopened in place (after an aborted transaction): rewind instead of assigning.
    std::vector<std::pair<TopicPartition, Offset>> positions;
    std::vector<TopicPartition> all;
    for (const auto& [tp, offset] : main_assignment) {
      positions.emplace_back(tp, *offset);
      all.push_back(tp);
    }
    main_->resume(all);  // a closed task may have left its partition paused
    with_retries("rewinding input", [&] {
      main_->seek(positions);
      return 0;
    });
  } else {
    main_->assign(main_assignment);
  }
  main_->pause(to_pause);
  for (TaskSlot* slot : opened) {
    if (slot->restoring.empty()) start_task(*slot);
  }
}

void StreamThread::start_task(TaskSlot& slot) {
  Task& task = *slot.task;
  if (slot.restored_records > 0) {
    const double seconds = std::max<EpochMillis>(1, clock_.now_ms() - slot.restore_started_ms) / 1000.0;
    log::info("task {}: restored {} records ({} bytes) in {:.3f} s ({:.0f} records/s, {:.1f} MB/s)", task.id(),
              slot.restored_records, slot.restored_bytes, seconds, slot.restored_records / seconds,
              static_cast<double>(slot.restored_bytes) / seconds / 1e6);
  }
  task.start_running(slot.start_offsets);
  std::string from;
  for (size_t s = 0; s < task.source_partitions().size(); ++s) {
    from += fmt::format("{}{}@{}", s ? ", " : "", task.source_partitions()[s], slot.start_offsets[s]);
  }
  log::info("task {}: processing from {}", task.id(), from);
  const auto& sources = task.source_partitions();
  for (size_t s = 0; s < sources.size(); ++s) {
    if (s == primary_source_) continue;
    side_routes_[sources[s]] = SideRoute{task.id().partition, SideRoute::Kind::kTable, s};
    side_->assign({{sources[s], slot.start_offsets[s]}});
  }
  main_->resume({sources[primary_source_]});
}

void StreamThread::close_task(Partition partition, bool clean) {
  auto it = tasks_.find(partition.value);
  if (it == tasks_.end()) return;
  TaskSlot& slot = *it->second;
  std::vector<TopicPartition> side_partitions;
  for (auto r = side_routes_.begin(); r != side_routes_.end();) {
    if (r->second.task == partition) {
      side_partitions.push_back(r->first);
      r = side_routes_.erase(r);
    } else {
      ++r;
    }
  }
  side_->unassign(side_partitions);
  std::string at;
  for (size_t s = 0; s < slot.task->source_partitions().size(); ++s) {
    at += fmt::format("{}{}@{}", s ? ", " : "", slot.task->source_partitions()[s], slot.task->next_offsets()[s]);
  }
  log::info("task {}: closing at {} ({})", slot.task->id(), at,
            clean ? "committed" : "not committed: its partition was lost or the commit failed");
  slot.task->close();
  tasks_.erase(it);
}

void StreamThread::on_revoked(const std::vector<TopicPartition>& partitions) {
  ++rebalances_;
  if (abandoned_) return;
  // Commit everything processed so far (the revoked tasks are still ours until this
  // returns), then close the revoked tasks, keeping their local state for next time.
  const bool committed = commit_all();
  for (const auto& tp : partitions) close_task(tp.partition, committed);
  update_standbys();  // what we gave away, we keep warm
  publish_status();
}

void StreamThread::on_lost(const std::vector<TopicPartition>& partitions) {
  ++rebalances_;
  if (abandoned_) return;
  for (const auto& tp : partitions) close_task(tp.partition, false);
  // The open transaction holds work of the lost tasks, which must not commit now;
  // aborting it takes the remaining tasks' work too, so they redo it.
  if (exactly_once() && producer_->in_transaction()) abort_and_redo("partitions were lost");
  update_standbys();
  publish_status();
}

void StreamThread::shutdown() {
  log::info("shutting down");
  stopping_ = true;
  commit_all();
  main_->close();  // leaves the group; on_revoked commits and closes the tasks
  while (!tasks_.empty()) close_task(Partition{tasks_.begin()->first}, true);
  while (!standbys_.empty()) close_standby(Partition{standbys_.begin()->first}, false);
  if (exactly_once() && producer_->in_transaction()) producer_->abort_transaction(kBrokerTimeoutMs);  // empty by now
  producer_->flush(30'000);
  side_->close();
  publish_status();
  log::info("shut down cleanly after processing {} records", processed_total_);
}

}  // namespace couponflow::processor
