#include "ops/application_reset.h"

#include <chrono>
#include <map>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "common/errors.h"
#include "common/json_string.h"
#include "common/log.h"
#include "processor/kafka/kafka_consumer.h"
#include "processor/kafka/kafka_producer.h"
#include "processor/kafka/topic_reader.h"
#include "state/store_spec.h"

namespace couponflow::ops {

namespace {

constexpr int kBrokerTimeoutMs = 10'000;

/// Takes what the group hands out, paused: this member only holds the group.
class HoldAssignment final : public kafka::RebalanceListener {
 public:
  kafka::KafkaConsumer* consumer = nullptr;
  std::set<TopicPartition> owned;
  void on_assigned(const std::vector<TopicPartition>& partitions) override {
    std::vector<std::pair<TopicPartition, std::optional<Offset>>> assign;
    for (const auto& tp : partitions) {
      assign.emplace_back(tp, std::nullopt);
      owned.insert(tp);
    }
    consumer->assign(assign);
    consumer->pause(partitions);
  }
  // KafkaConsumer takes revoked and lost partitions out of the assignment itself.
  void on_revoked(const std::vector<TopicPartition>& partitions) override { forget(partitions); }
  void on_lost(const std::vector<TopicPartition>& partitions) override { forget(partitions); }

 private:
  void forget(const std::vector<TopicPartition>& partitions) {
    for (const auto& tp : partitions) owned.erase(tp);
  }
};

/// Empties one changelog: a tombstone for each key whose last record is a value.
ResetReport::Changelog tombstone_changelog(const kafka::ClientProperties& client, const std::string& topic,
                                           bool dry_run) {
  ResetReport::Changelog out;
  out.topic = topic;
  std::map<int32_t, std::map<std::string, bool>> live;  // partition -> key -> has a value
  const auto snapshot = kafka::read_topics(client, {topic}, [&](kafka::ReadRecord&& r) {
    ++out.records_read;
    if (!r.key) return;  // unreadable as state anyway (restores skip it)
    live[r.partition.value][*r.key] = r.value.has_value();
  });
  for (const auto& info : snapshot) out.truncated = out.truncated || info.low.value > 0;
  std::unique_ptr<kafka::KafkaProducer> producer;
  if (!dry_run) producer = std::make_unique<kafka::KafkaProducer>(client);
  for (const auto& [partition, keys] : live) {
    for (const auto& [key, has_value] : keys) {
      if (!has_value) continue;
      ++out.tombstones;
      if (producer) producer->send(topic, Partition{partition}, Message{key, std::nullopt, 0, {}});
    }
  }
  if (producer) producer->flush(60'000);
  return out;
}

/// Per partition of `topic`: the first offset whose record is stamped at or after
/// `timestamp_ms`, else the partition's end.
std::map<int32_t, Offset> first_offsets_at_or_after(const kafka::ClientProperties& client, const std::string& topic,
                                                    int64_t timestamp_ms) {
  std::map<int32_t, Offset> found;
  const auto snapshot = kafka::read_topics(client, {topic}, [&](kafka::ReadRecord&& r) {
    if (r.timestamp >= timestamp_ms && !found.contains(r.partition.value)) found[r.partition.value] = r.offset;
  });
  for (const auto& info : snapshot) found.emplace(info.partition.value, info.high);
  return found;
}

}  // namespace

ResetReport reset_application(const kafka::ClientProperties& client, const kafka::ClientProperties& consumer_props,
                              const topology::Topology& topology, const ResetOptions& options,
                              processor::Admin* admin) {
  ResetReport report;
  report.dry_run = options.dry_run;
  const std::string& stream = topology.primary_source().topic;
  const auto partitions = kafka::list_topics(client);
  auto count = [&](const std::string& topic) {
    auto it = partitions.find(topic);
    if (it == partitions.end()) throw FatalError("missing topic " + topic);
    return it->second;
  };
  const int32_t stream_partitions = count(stream);

  // 0. Where the cluster can say who is in the group, a running group is refused
  // without disturbing it.
  if (admin != nullptr && admin->supported()) {
    const auto group = admin->describe_group(options.application_id);
    if (!group.members.empty()) {
      std::set<TopicPartition> held;
      for (const auto& m : group.members) held.insert(m.assignment.begin(), m.assignment.end());
      report.partitions_held_by_others = held.size();
      return report;
    }
  }

  // 1. Become the group's only member, or find out that it has others.
  kafka::ClientProperties props = client;
  props.merge(consumer_props);
  HoldAssignment holder;
  kafka::KafkaConsumer consumer(props, options.application_id, &holder);
  holder.consumer = &consumer;
  consumer.subscribe({stream});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.join_timeout_ms);
  std::vector<Record> ignored;
  while (consumer.rebalance_count() == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      consumer.close();
      throw RetriableError(fmt::format("group {} did not answer our join within {} s", options.application_id,
                                       options.join_timeout_ms / 1000));
    }
    ignored.clear();
    consumer.poll(ignored, 1, 100);
  }
  report.group_empty = static_cast<int32_t>(holder.owned.size()) == stream_partitions;
  report.partitions_held_by_others = static_cast<size_t>(stream_partitions) - holder.owned.size();
  if (!report.group_empty) {
    consumer.close();
    return report;
  }

  // 2. Input offsets, committed as the group's only member.
  std::vector<TopicPartition> inputs;
  std::map<TopicPartition, Offset> targets;
  for (const auto& source : topology.sources()) {
    const int32_t n = count(source.topic);
    for (int32_t p = 0; p < n; ++p) {
      const TopicPartition tp{source.topic, Partition{p}};
      inputs.push_back(tp);
      targets[tp] = consumer.query_watermarks(tp, kBrokerTimeoutMs).low;
    }
  }
  if (options.to_timestamp_ms) {
    std::vector<TopicPartition> stream_tps;
    for (const auto& tp : inputs) {
      if (tp.topic == stream) stream_tps.push_back(tp);
    }
    bool unknown = false;
    for (const auto& [tp, offset] : consumer.offsets_for_times(stream_tps, *options.to_timestamp_ms, kBrokerTimeoutMs)) {
      if (offset) targets[tp] = *offset;
      unknown = unknown || !offset;
    }
    // The broker knows no record from that time on: either there is none (the end is
    // the answer) or it cannot look times up (the embedded broker): the records say.
    if (unknown) {
      const auto by_scan = first_offsets_at_or_after(client, stream, *options.to_timestamp_ms);
      for (const auto& [tp, offset] : consumer.offsets_for_times(stream_tps, *options.to_timestamp_ms, kBrokerTimeoutMs)) {
        if (!offset) targets[tp] = by_scan.at(tp.partition.value);
      }
    }
  }
  const auto committed = consumer.committed(inputs, kBrokerTimeoutMs);
  std::vector<std::pair<TopicPartition, Offset>> commit;
  for (const auto& tp : inputs) {
    auto before = committed.find(tp);
    report.inputs.push_back({tp, before == committed.end() ? std::nullopt : std::optional<Offset>(before->second),
                             targets.at(tp)});
    commit.emplace_back(tp, targets.at(tp));
  }
  if (!options.dry_run) consumer.commit(commit);

  // 3. Empty the changelogs (the group is still held: no instance starts meanwhile).
  for (const auto& store : topology.stores()) {
    if (store.source_topic) continue;  // a table's store is its input topic, reset above
    const std::string topic = state::changelog_topic(options.application_id, store);
    count(topic);
    report.changelogs.push_back(tombstone_changelog(client, topic, options.dry_run));
  }

  // 4. Leave.
  consumer.close();
  return report;
}

std::string format_reset_report(const ResetReport& r) {
  if (!r.group_empty) {
    return fmt::format("reset: refused: the group has running members ({} partition(s) of the input are theirs); "
                       "stop every instance (and wait for killed ones' session timeout), then retry\n",
                       r.partitions_held_by_others);
  }
  std::string out;
  const char* verb = r.dry_run ? "would move" : "moved";
  for (const auto& in : r.inputs) {
    out += fmt::format("input {}: {} from {} to {}\n", in.partition, verb,
                       in.from ? std::to_string(in.from->value) : std::string("(none)"), in.to.value);
  }
  for (const auto& c : r.changelogs) {
    out += fmt::format("changelog {}: {} records read, {} {} tombstone(s){}\n", c.topic, c.records_read,
                       r.dry_run ? "would write" : "wrote", c.tombstones,
                       c.truncated ? " (its log no longer starts at 0: keys only in the lost part are not known)" : "");
  }
  out += r.dry_run ? "reset: dry run, nothing changed\n"
                   : "reset: done; instances restore empty stores (local state included) and process the inputs "
                     "again from the offsets above\n";
  return out;
}

std::string format_reset_report_json(const ResetReport& r, const std::string& application_id) {
  std::string out = "{\"application_id\":";
  append_json_string(out, application_id);
  out += fmt::format(",\"dry_run\":{},\"group_empty\":{},\"partitions_held_by_others\":{},\"inputs\":[",
                     r.dry_run, r.group_empty, r.partitions_held_by_others);
  for (size_t i = 0; i < r.inputs.size(); ++i) {
    const auto& in = r.inputs[i];
    out += i ? "," : "";
    out += "{\"topic\":";
    append_json_string(out, in.partition.topic);
    out += fmt::format(",\"partition\":{},\"from\":{},\"to\":{}}}", in.partition.partition.value,
                       in.from ? std::to_string(in.from->value) : std::string("null"), in.to.value);
  }
  out += "],\"changelogs\":[";
  for (size_t i = 0; i < r.changelogs.size(); ++i) {
    const auto& c = r.changelogs[i];
    out += i ? "," : "";
    out += "{\"topic\":";
    append_json_string(out, c.topic);
    out += fmt::format(",\"records_read\":{},\"tombstones\":{},\"truncated\":{}}}", c.records_read, c.tombstones,
                       c.truncated);
  }
  out += "]}\n";
  return out;
}

}  // namespace couponflow::ops
