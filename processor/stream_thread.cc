#include "processor/stream_thread.h"
#include "processor/stream_thread_internal.h"

#include <poll.h>
#include <pthread.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <thread>

#include "common/errors.h"
#include "common/log.h"
#include "processor/kafka/kafka_client_supplier.h"
#include "processor/partition_guard.h"
#include "processor/state_topics.h"
#include "state/rocksdb/rocksdb_store.h"
#include "state/state_directory.h"

namespace couponflow::processor {

using detail::kBrokerTimeoutMs;
using detail::kPollBatch;
using detail::kProcessBudget;

namespace {

std::shared_ptr<InstanceContext> own_context(StreamsConfig config) {
  config.num_stream_threads = 1;
  return std::make_shared<InstanceContext>(config);
}

}  // namespace

StreamThread::StreamThread(const topology::Topology& topology, StreamsConfig config,
                           std::shared_ptr<prometheus::Registry> registry, std::shared_ptr<ClientSupplier> clients,
                           std::shared_ptr<InstanceContext> context, int thread_index)
    : topology_(topology),
      config_(std::move(config)),
      context_(context ? std::move(context) : own_context(config_)),
      thread_index_(thread_index) {
  clients_ = clients ? std::move(clients) : std::make_shared<kafka::KafkaClientSupplier>(registry, thread_suffix());
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
  init_metrics(std::move(registry));
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
    for (auto& [p, stores] : handed_over_) {
      stores.clear();
      context_->task_directories().release(thread_index_, Partition{p});
    }
    handed_over_.clear();
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

int32_t StreamThread::partition_count() const {
  std::lock_guard lock(status_mutex_);
  return status_.partition_count;
}

bool StreamThread::has_task(Partition partition) const {
  std::lock_guard lock(status_mutex_);
  return std::any_of(status_.tasks.begin(), status_.tasks.end(),
                     [&](const TaskStatus& t) { return t.partition == partition; });
}

void StreamThread::publish_status() {
  ThreadStatus s;
  s.running = !stopping_ && main_ != nullptr;
  // Joined once the group's first assignment (possibly empty) has been taken: a member
  // id alone comes before the assignment, when the tasks are not known yet.
  s.joined = rebalances_ > 0;
  s.partition_count = partition_count_;
  for (const auto& [p, slot] : tasks_) {
    s.tasks.push_back({Partition{p}, slot->task->state(), slot->task->stats().processed,
                       slot->task->stats().restored});
  }
  for (const auto& [p, slot] : standbys_) s.standbys.push_back(Partition{p});
  s.processed = processed_total_;
  s.commits = commits_;
  s.rebalances = rebalances_;
  s.aborted_transactions = aborts_;
  context_->set_ready(thread_index_, s.ready());
  std::lock_guard lock(status_mutex_);
  status_ = std::move(s);
}

void StreamThread::run(const std::atomic<bool>& stop) {
  // Visible in top -H, perf and gdb (at most 15 characters).
  const std::string name = context_->thread_count() > 1 ? fmt::format("cf-stream-{}", thread_index_ + 1) : "cf-stream";
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
  log::set_thread(thread_suffix());
  stop_ = &stop;
  last_step_ms_ = clock_.now_ms();
  start();
  // Whatever ends the loop, queries waiting for it are refused, not left to time out.
  struct CloseQueries {
    QueryMailbox& mailbox;
    ~CloseQueries() { mailbox.close(); }
  } close_queries{queries_};
  while (!stop.load(std::memory_order_relaxed)) {
    step();
    last_step_ms_.store(clock_.now_ms(), std::memory_order_relaxed);
  }
  queries_.close();
  shutdown();
}

void StreamThread::serve_queries() {
  queries_.serve([this](Partition partition, const StoreQuery& query) {
    auto it = tasks_.find(partition.value);
    if (it == tasks_.end()) return QueryOutcome::kNotOwner;
    Task& task = *it->second->task;
    switch (task.state()) {
      case TaskState::kRunning: {
        QueryableStores stores(task);
        query(stores);
        return QueryOutcome::kAnswered;
      }
      case TaskState::kCreated:
      case TaskState::kRestoring:
        return QueryOutcome::kRestoring;
      case TaskState::kStandby:
      case TaskState::kClosed:
        return QueryOutcome::kNotOwner;
    }
    return QueryOutcome::kNotOwner;
  });
}

void StreamThread::start() {
  const std::string suffix = thread_suffix();
  log::info("starting{}{}: application {} on {}, state in {}", suffix.empty() ? "" : " ", suffix,
            config_.application_id, config_.bootstrap, config_.state_dir.string());
  state::StateDirectory& state_dir = context_->state_dir();

  // Kafka Streams names a thread's clients <client.id>-StreamThread-N.
  const std::string client_id = config_.instance_id.empty() ? config_.application_id : config_.instance_id;
  kafka::ClientProperties common{{"bootstrap.servers", config_.bootstrap},
                                 {"client.id", suffix.empty() ? client_id : client_id + "-" + suffix}};
  common.merge(config_.client);
  const bool eos = exactly_once();
  kafka::ClientProperties producer_props = common;
  if (eos) {
    producer_props.set("transactional.id", transactional_id());
    producer_props.set("transaction.timeout.ms", "60000");
  }
  producer_props.merge(config_.producer);
  kafka::ClientProperties main_props = common;
  // Static membership: each thread is a member of its own, named after the instance.
  if (!config_.instance_id.empty()) {
    main_props.set("group.instance.id", suffix.empty() ? config_.instance_id : config_.instance_id + "-" + suffix);
  }
  // Exactly-once reads only committed transactions, changelogs included.
  if (eos) main_props.set("isolation.level", "read_committed");
  main_props.merge(config_.consumer);
  kafka::ClientProperties side_props = common;
  if (eos) side_props.set("isolation.level", "read_committed");
  side_props.merge(config_.consumer);

  producer_ = clients_->producer(producer_props);
  main_ = clients_->consumer(main_props, config_.application_id, static_cast<RebalanceListener*>(this));
  // The side consumer reads changelogs and tables by explicit assignment; it never
  // joins the group or commits.
  side_ = clients_->consumer(side_props, config_.application_id + "-restore", nullptr);
  changelog_reader_ = std::make_unique<ChangelogReader>(
      *side_,
      [this](const char* what, const std::function<void()>& call) {
        until_done(what, [&] {
          call();
          return 0;
        });
      },
      static_cast<RestoreListener*>(this));

  // Every topic must exist with the right partition count before anything is read:
  // an unknown topic would be auto-created by some brokers with the wrong count.
  const auto partitions = until_done("reading cluster metadata", [&] { return main_->topic_partitions(kBrokerTimeoutMs); });
  const std::string& primary = topology_.primary_source().topic;
  std::vector<std::string> missing;
  for (const auto& topic : topology_.topics(config_.application_id)) {
    if (!partitions.contains(topic)) missing.push_back(topic);
  }
  if (!missing.empty()) {
    throw FatalError(fmt::format("missing topic(s): {}; create them first (see README: Topics)",
                                 fmt::join(missing, ", ")));
  }
  // Kafka Streams checks its internal topics the same way: a changelog that retention
  // may trim would lose state that a later restore needs.
  if (auto admin = clients_->admin(common)) {
    until_done("checking the state topics", [&] {
      validate_state_topics(*admin, topology_, config_.application_id);
      return 0;
    });
  }
  partition_count_ = check_partitioning(primary, co_partitioned_topics(), partitions,
                                        state_dir.recorded_partitions());
  state_dir.record_partitions(partition_count_);
  last_partition_check_ms_ = clock_.now_ms();
  std::vector<std::string> outputs;
  for (const auto& sink : topology_.sinks()) outputs.push_back(sink.topic);
  for (const auto& store : topology_.stores()) {
    if (!store.source_topic) outputs.push_back(state::changelog_topic(config_.application_id, store));
  }
  producer_->warm_up(outputs);

  if (eos) {
    until_done("initializing transactions", [&] {
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
  // A sibling thread took, left or wants a task directory: standbys may move.
  if (config_.num_standby_replicas > 0 && context_->task_directories().generation() != directories_generation_) {
    update_standbys();
  }
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
  // A restore finishing in the background wakes nobody when it ends: look every ms.
  if (timeout > 1 && changelog_reader_->settling()) timeout = 1;
  if (timeout > 0) {
    pollfd fds[3] = {{main_->wakeup_fd(), POLLIN, 0}, {side_->wakeup_fd(), POLLIN, 0}, {queries_.wakeup_fd(), POLLIN, 0}};
    ::poll(fds, 3, timeout);
  }
  serve_queries();

  batch_.clear();
  more_records_ = main_->poll(batch_, kPollBatch, 0) == kPollBatch;
  route_main(batch_, main_->last_batch_epoch());
  handle_commit_results();
  batch_.clear();
  const size_t side_records = side_->poll(batch_, kPollBatch, 0);
  more_records_ = more_records_ || side_records == kPollBatch;
  route_side(batch_);
  batch_.clear();
  // Every round, not only when the side consumer is idle: a restore whose changelog
  // ends in offsets without a record (transaction markers) ends by position, and
  // standbys and tables may keep the side consumer busy for as long as load lasts.
  start_restored_tasks();

  const size_t processed = process_tasks();
  last_processed_ = processed;
  apply_backpressure();
  if (clock_.now_ms() - last_partition_check_ms_ >= config_.partition_check_interval_ms) {
    check_partition_counts();
    last_partition_check_ms_ = clock_.now_ms();
  }
  if (clock_.now_ms() - last_commit_ms_ >= config_.commit_interval_ms) {
    commit_all();
    changelog_reader_->flush_standbys();
    last_commit_ms_ = clock_.now_ms();
    publish_status();
  } else if (processed == 0) {
    publish_status();
  }
  publish_metrics();
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
  // A fetch returns runs of one partition's records: look its task up once per run.
  std::optional<Partition> run_partition;
  TaskSlot* run_slot = nullptr;
  for (auto& r : records) {
    if (r.partition != run_partition) {
      run_partition = r.partition;
      auto it = tasks_.find(r.partition.value);
      // Not ours any more, or fetched for a task that has since been closed and opened
      // again: the new task reads from its own start offset; handing it these would
      // skip or repeat records.
      run_slot = it == tasks_.end() || it->second->created_epoch > epoch ? nullptr : it->second.get();
    }
    if (run_slot != nullptr) add_input(*run_slot, primary_source_, std::move(r));
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
  slot.consumed[source]->add();
  slot.task->add_record(source, std::move(record));
}

void StreamThread::route_side(std::vector<Record>& records) {
  for (auto& r : records) {
    if (changelog_reader_->apply(r)) continue;  // a restore or a standby's
    auto route = table_routes_.find(TopicPartition{std::string(r.topic), r.partition});
    if (route == table_routes_.end()) continue;  // a partition just unassigned
    add_input(*tasks_.at(route->second.first), route->second.second, std::move(r));
  }
}

size_t StreamThread::process_tasks() {
  size_t total = 0;
  try {
    for (auto& [p, slot] : tasks_) {
      Task& task = *slot->task;
      if (task.state() != TaskState::kRunning) continue;
      const auto& sources = task.source_partitions();
      const size_t n = task.process(kProcessBudget, [&](size_t s) {
        Consumer& consumer = s == primary_source_ ? *main_ : *side_;
        return consumer.progress(sources[s], task.next_offsets()[s]);
      });
      total += n;
    }
  } catch (const TransactionAbortedError& e) {
    // The transaction failed while outputs were being handed to the producer.
    abort_and_redo(e.what());
    return 0;
  }
  processed_total_ += total;
  return total;
}

void StreamThread::apply_backpressure() {
  for (auto& [p, slot] : tasks_) {
    Task& task = *slot->task;
    if (task.state() != TaskState::kRunning) continue;
    for (size_t s = 0; s < task.source_partitions().size(); ++s) {
      Consumer& consumer = s == primary_source_ ? *main_ : *side_;
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

bool StreamThread::commit_all(bool handing_over) {
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
  // Exactly once: positions recorded in the open transaction (see below) commit with it,
  // and the stores then checkpoint past them.
  const bool had_positions = exactly_once() && positions_in_transaction_;
  if (had_positions) dirty = true;
  if (!dirty) {
    // Nothing new to make durable; the group's copy of the offsets may still lag (a
    // commit refused during a rebalance): it is sent again until the group has it.
    if (!exactly_once() || broker_stores_txn_offsets_ != true) commit_offsets(offsets, /*only_behind=*/true, handing_over);
    if (handing_over && !exactly_once()) {
      // The last recorded positions were sent after the last checkpoint: acknowledged
      // and checkpointed now, a restart of this instance reads nothing back.
      try {
        producer_->flush(30'000);
        for (auto& [p, slot] : tasks_) {
          if (slot->task->state() == TaskState::kRunning) slot->task->checkpoint();
        }
      } catch (const RetriableError& e) {
        log::warn("final checkpoint skipped: {}", e.what());
      }
    }
    return true;
  }
  using std::chrono::steady_clock;
  const auto started = steady_clock::now();
  steady_clock::time_point flushed, committed;
  try {
    if (exactly_once()) {
      // Outputs, changelog records and input offsets become visible together.
      producer_->send_offsets_to_transaction(offsets, *main_, kBrokerTimeoutMs);
      flushed = steady_clock::now();
      // From here the transaction is committing: nothing may join it, and a commit that
      // timed out may still complete, so it is retried with the same call (librdkafka's
      // rule), never abandoned or aborted for a timeout.
      until_done("committing the transaction", [&] {
        producer_->commit_transaction(kBrokerTimeoutMs);
        return 0;
      });
      producer_->begin_transaction();
      committed = steady_clock::now();
      // The input position is recorded once its outputs are committed, at the start of
      // the next transaction: inside the one it describes, it would outlive an abort on
      // a broker that writes no transaction markers (the embedded broker) and skip
      // inputs whose results the abort dropped. Not for partitions about to move: their
      // changelog would be held in an open transaction the next owner must wait out.
      // That transaction is committed at the next interval even if nothing else joins it.
      positions_in_transaction_ = !handing_over && record_source_offsets();
      mirror_transactional_offsets(offsets);
    } else {
      producer_->flush(30'000);
      flushed = steady_clock::now();
      // Every output so far is acknowledged: the input position they cover is recorded
      // with the state (made durable by the next flush, or now if the partitions are
      // about to move), so whoever restores the state resumes there.
      record_source_offsets();
      if (handing_over) producer_->flush(30'000);
      // The group's copy, without waiting: a coordinator in the middle of a rebalance
      // holds (the embedded broker) or refuses (any broker) commits, and the thread would
      // stall with it. The recorded position makes a refused commit cost no replay.
      commit_offsets(offsets, /*only_behind=*/false, handing_over);
      committed = steady_clock::now();
    }
  } catch (const RetriableError& e) {
    log::warn("commit postponed: {}", e.what());
    return false;
  } catch (const TransactionAbortedError& e) {
    abort_and_redo(e.what());
    return false;
  }
  // Every output and changelog record is acknowledged (or committed with the
  // transaction), the input position recorded: the stores may checkpoint.
  for (auto& [p, slot] : tasks_) {
    if (slot->task->state() == TaskState::kRunning && (slot->task->dirty() || had_positions)) slot->task->checkpoint();
  }
  ++commits_;
  const auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  const double total = ms(steady_clock::now() - started);
  engine_metrics_->commit_latency->observe(total / 1000);
  const log::Level level = total > 1000 ? log::Level::kWarn : log::Level::kDebug;
  if (log::enabled(level)) {
    log::write(level, fmt::format("commit took {:.1f} ms: flush {:.1f}, offsets {:.1f}, checkpoint {:.1f}", total,
                                  ms(flushed - started), ms(committed - flushed), ms(steady_clock::now() - committed)));
  }
  return true;
}

void StreamThread::commit_offsets(const std::vector<std::pair<TopicPartition, Offset>>& offsets, bool only_behind,
                                  bool always) {
  // One commit in flight at a time: while a rebalancing coordinator holds one, the
  // next would only queue up behind it (the next interval sends the newest offsets).
  if (outstanding_commits_ > 0 && !always) return;
  std::vector<std::pair<TopicPartition, Offset>> commit;
  for (const auto& entry : offsets) {
    auto known = known_committed_.find(entry.first);
    if (!only_behind || known == known_committed_.end() || known->second != entry.second) commit.push_back(entry);
  }
  if (commit.empty()) return;
  ++outstanding_commits_;
  main_->commit_async(commit);
}

void StreamThread::handle_commit_results() {
  for (const CommitResult& result : main_->take_commit_results()) {
    if (outstanding_commits_ > 0) --outstanding_commits_;
    if (result.error.empty()) {
      for (const auto& [tp, offset] : result.offsets) known_committed_[tp] = offset;
      continue;
    }
    // Refused while the group rebalances, mostly: the next commit carries newer offsets,
    // and the position recorded with the state already covers these.
    if (refused_commits_++ % 50 == 0) {
      log::warn("offset commit refused ({} so far): {}", refused_commits_, result.error);
    }
  }
}

bool StreamThread::record_source_offsets() {
  bool recorded = false;
  for (auto& [p, slot] : tasks_) {
    if (slot->task->state() == TaskState::kRunning && slot->task->dirty()) {
      recorded = slot->task->record_source_offsets() || recorded;
    }
  }
  return recorded;
}

void StreamThread::shutdown() {
  log::info("shutting down");
  stopping_ = true;
  commit_all(/*handing_over=*/true);
  main_->close();  // leaves the group; on_revoked commits and closes the tasks
  while (!tasks_.empty()) close_task(Partition{tasks_.begin()->first}, true);
  while (!standbys_.empty()) close_standby(Partition{standbys_.begin()->first}, false);
  if (exactly_once() && producer_->in_transaction()) {
    until_done("aborting the (empty) last transaction", [&] {
      producer_->abort_transaction(kBrokerTimeoutMs);
      return 0;
    });
  }
  producer_->flush(30'000);
  side_->close();
  publish_status();
  log::info("shut down cleanly after processing {} records", processed_total_);
}

}  // namespace couponflow::processor
