#include "processor/changelog_reader.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/errors.h"
#include "common/log.h"

namespace couponflow::processor {

namespace {
constexpr int kBrokerTimeoutMs = 10'000;
// Which restores are written in bulk (Task::restore_in_bulk): a store rebuilt from
// nothing, unless tiny (a file per batch is not worth it), and a large tail (a restore
// interrupted and resumed). A short tail (a standby's hand-over, a restart) keeps the
// store's cache warm through the restore instead: bulk would have to warm it again by
// reading the whole store.
constexpr int64_t kBulkRestoreFromScratchRecords = 1'000;
constexpr int64_t kBulkRestoreTailRecords = 100'000;
}

ChangelogReader::ChangelogReader(Consumer& consumer, Retry retry, RestoreListener* listener)
    : consumer_(consumer), retry_(std::move(retry)), listener_(listener) {}

Watermarks ChangelogReader::watermarks(const TopicPartition& tp) {
  Watermarks wm;
  retry_("reading watermarks", [&] { wm = consumer_.query_watermarks(tp, kBrokerTimeoutMs); });
  return wm;
}

void ChangelogReader::add_active(std::vector<ActiveRestore> restores) {
  // One question for every changelog's end: a round trip per changelog was 5 ms here,
  // most of what opening 24 tasks took once their stores opened side by side.
  std::vector<TopicPartition> changelogs;
  for (const ActiveRestore& r : restores) {
    for (const ChangelogSpec& spec : r.specs) {
      if (!spec.is_source_topic) changelogs.push_back(spec.changelog);
    }
  }
  std::map<TopicPartition, Watermarks> known;
  if (!changelogs.empty()) {
    retry_("reading watermarks", [&] { known = consumer_.query_watermarks(changelogs, kBrokerTimeoutMs); });
  }
  for (ActiveRestore& r : restores) {
    Entry& entry = entries_[r.task->id().partition.value];
    entry = Entry{r.task, false, false, std::move(r.committed), {}, {}};
    for (ChangelogSpec& spec : r.specs) {
      if (spec.is_source_topic) {
        entry.tables.push_back(std::move(spec));
        continue;
      }
      const Watermarks& wm = known.at(spec.changelog);
      plan(entry, spec, wm.high, wm.low);
    }
    if (entry.reads.empty()) plan_tables(entry);
  }
}

bool ChangelogReader::plan(Entry& entry, const ChangelogSpec& spec, Offset end, std::optional<Offset> log_start) {
  Task& task = *entry.task;
  const std::string& store = task.store_name(spec.store_index);
  Offset start = spec.position.value_or(Offset{0});
  if (start > end && spec.is_source_topic) {
    // A table checkpointed past where processing resumes (a commit that failed after
    // its checkpoint could only be this): rebuilt from its topic, which holds every row,
    // rather than replaying requests against rows from their future.
    log::warn("task {}: table store {} is at {} but {} resumes at {}; rebuilding it from the topic", task.id(), store,
              start, spec.changelog, end);
    task.reset_store(spec.store_index);
    start = Offset{0};
  }
  if (start > end) {
    throw FatalError(fmt::format(
        "task {}: store {} holds changelog {} up to offset {} but the log ends at {}: the changelog was deleted or "
        "recreated; delete the task's local state to rebuild the store",
        task.id(), store, spec.changelog, start, end));
  }
  if (start == end) {
    task.finish_restore(spec.store_index, end);
    return false;
  }
  // Only a restore that reads needs to know where the log starts.
  if (!log_start) log_start = watermarks(spec.changelog).low;
  if (start < *log_start) {
    throw FatalError(fmt::format(
        "task {}: cannot restore store {}: needs {} from offset {} but the log now starts at {} (records were "
        "deleted: on Kafka a changelog must be compacted, never deleted; the embedded broker drops the oldest "
        "records beyond ~5 MB per partition)",
        task.id(), store, spec.changelog, start, *log_start));
  }
  log::info("task {}: restoring store {} from {} offsets {}..{} ({} records)", task.id(), store, spec.changelog, start,
            end, end.value - start.value);
  if (listener_ != nullptr) listener_->on_restore_start(task.id(), spec.store_index, spec.changelog, start, end);
  const int64_t records = end.value - start.value;
  if (records >= (spec.position ? kBulkRestoreTailRecords : kBulkRestoreFromScratchRecords)) {
    task.restore_in_bulk(spec.store_index);
  }
  entry.reads.push_back(Read{spec.store_index, spec.changelog, end, start});
  set_route(spec.changelog, task.id().partition.value);
  consumer_.assign({{spec.changelog, start}});
  return true;
}

void ChangelogReader::plan_tables(Entry& entry) {
  entry.tables_planned = true;
  Task& task = *entry.task;
  // Where processing resumes: the later of the group's committed offsets and the input
  // position recorded with the state (written after its outputs were acknowledged, so
  // it may be ahead when the group refused commits, e.g. while it rebalanced).
  if (auto recorded = task.recorded_source_offsets()) {
    for (size_t s = 0; s < entry.start.size(); ++s) {
      if ((*recorded)[s] > entry.start[s]) {
        log::info("task {}: {} resumes at {} recorded with its state (committed: {})", task.id(),
                  task.source_partitions()[s], (*recorded)[s], entry.start[s]);
        entry.start[s] = (*recorded)[s];
      }
    }
  }
  for (const ChangelogSpec& spec : entry.tables) {
    Offset end{0};
    for (size_t s = 0; s < task.source_partitions().size(); ++s) {
      if (task.source_partitions()[s] == spec.changelog) end = entry.start[s];
    }
    plan(entry, spec, end, std::nullopt);
  }
  entry.tables.clear();
  if (entry.reads.empty()) restored_.emplace_back(task.id().partition, entry.start);
}

bool ChangelogReader::add_standby(Task& task, const std::vector<ChangelogSpec>& specs) {
  Entry entry{&task, true, true, {}, {}, {}};
  for (const ChangelogSpec& spec : specs) {
    if (spec.is_source_topic) continue;  // a table restores from its topic on takeover: small
    const Offset start = spec.position.value_or(Offset{0});
    Watermarks wm;
    try {
      wm = consumer_.query_watermarks(spec.changelog, kBrokerTimeoutMs);
    } catch (const RetriableError& e) {
      log::warn("standby {}: not kept for now: {}", task.id(), e.what());
      return false;
    }
    if (start < wm.low || start > wm.high) {
      // Optional by nature: a standby that cannot be built is skipped, loudly; the
      // active task's restore makes the same check and stops if it must.
      log::warn("standby {}: not kept: its store is at {} but {} spans {}..{}", task.id(), start, spec.changelog,
                wm.low, wm.high);
      return false;
    }
    entry.reads.push_back(Read{spec.store_index, spec.changelog, Offset{0}, start});
  }
  for (const Read& read : entry.reads) {
    log::info("standby {}: tailing {} from offset {}", task.id(), read.topic, read.next);
    set_route(read.topic, task.id().partition.value);
    consumer_.assign({{read.topic, read.next}});
  }
  entries_[task.id().partition.value] = std::move(entry);
  return true;
}

void ChangelogReader::remove(Partition partition) {
  auto it = entries_.find(partition.value);
  if (it == entries_.end()) return;
  Entry& entry = it->second;
  std::vector<TopicPartition> topics;
  for (const Read& read : entry.reads) {
    if (entry.standby) {
      entry.task->finish_restore(read.store, read.next);  // durable: the next owner starts there
      log::info("standby {}: handing over {} at offset {}", entry.task->id(), read.topic, read.next);
    }
    topics.push_back(read.topic);
    erase_route(read.topic);
  }
  consumer_.unassign(topics);
  std::erase_if(restored_, [&](const auto& r) { return r.first == partition; });
  entries_.erase(it);
}

void ChangelogReader::set_route(const TopicPartition& tp, int32_t task_partition) {
  routes_[tp] = task_partition;
  last_route_.reset();
}

void ChangelogReader::erase_route(const TopicPartition& tp) {
  routes_.erase(tp);
  last_route_.reset();
}

ChangelogReader::Entry* ChangelogReader::route(const Record& record) {
  // A poll returns each partition's records in a run: the last answer is almost always
  // the right one, without building a TopicPartition (a string) to look it up.
  if (!last_route_ || last_route_->first.partition != record.partition || last_route_->first.topic != record.topic) {
    auto it = routes_.find(TopicPartition{std::string(record.topic), record.partition});
    if (it == routes_.end()) return nullptr;
    last_route_.emplace(it->first, it->second);
  }
  return &entries_.at(last_route_->second);
}

bool ChangelogReader::apply(const Record& record) {
  Entry* found = route(record);
  if (found == nullptr) return false;
  Entry& entry = *found;
  auto read = std::find_if(entry.reads.begin(), entry.reads.end(),
                           [&](const Read& r) { return r.topic.partition == record.partition && r.topic.topic == record.topic; });
  if (read == entry.reads.end() || record.offset < read->next) return true;  // a late or repeated record
  if (entry.standby) {
    entry.task->restore(read->store, record);
    read->next = record.offset.next();
    read->dirty = true;
    if (listener_ != nullptr) listener_->on_record_applied(entry.task->id(), read->store, record, true);
    return true;
  }
  // A record at or past the end belongs to what processing will read (a table's source
  // beyond where processing resumes): never applied here.
  if (record.offset < read->end) {
    entry.task->restore(read->store, record);
    read->next = record.offset.next();
    if (listener_ != nullptr) listener_->on_record_applied(entry.task->id(), read->store, record, false);
  }
  if (record.offset.next() >= read->end) finish(entry, static_cast<size_t>(read - entry.reads.begin()));
  return true;
}

void ChangelogReader::finish(Entry& entry, size_t read_index) {
  const Read read = entry.reads[read_index];
  entry.task->finish_restore(read.store, read.end);
  if (listener_ != nullptr) listener_->on_restore_end(entry.task->id(), read.store);
  entry.reads.erase(entry.reads.begin() + static_cast<std::ptrdiff_t>(read_index));
  erase_route(read.topic);
  consumer_.unassign({read.topic});
  // Once every read is done, and every store has finished its restore in the
  // background (take_restored): the next phase.
  if (entry.reads.empty()) entry.settling = true;
}

void ChangelogReader::next_phase(Entry& entry) {
  entry.settling = false;
  if (!entry.tables_planned) {
    plan_tables(entry);  // phase 2: the changelogs told where processing resumes
  } else {
    restored_.emplace_back(entry.task->id().partition, entry.start);
  }
}

bool ChangelogReader::settling() const {
  return std::any_of(entries_.begin(), entries_.end(), [](const auto& e) { return e.second.settling; });
}

std::vector<std::pair<Partition, std::vector<Offset>>> ChangelogReader::take_restored() {
  for (auto& [p, entry] : entries_) {
    if (entry.standby) continue;
    for (size_t i = 0; i < entry.reads.size();) {
      const auto position = consumer_.position(entry.reads[i].topic);
      if (position && *position >= entry.reads[i].end) {
        finish(entry, i);  // erases reads[i]; may add the next phase's
        i = 0;
      } else {
        ++i;
      }
    }
    if (entry.settling && entry.task->stores_settled()) next_phase(entry);
  }
  auto out = std::move(restored_);
  restored_.clear();
  for (const auto& [p, offsets] : out) entries_.erase(p.value);
  return out;
}

void ChangelogReader::flush_standbys() {
  for (auto& [p, entry] : entries_) {
    if (!entry.standby) continue;
    for (Read& read : entry.reads) {
      if (!read.dirty) continue;
      entry.task->finish_restore(read.store, read.next);
      read.dirty = false;
    }
  }
}

}  // namespace couponflow::processor
