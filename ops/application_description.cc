#include "ops/application_description.h"

#include <map>

#include <fmt/format.h>

#include "common/errors.h"
#include "common/json_string.h"
#include "processor/kafka/kafka_consumer.h"
#include "processor/kafka/topic_reader.h"
#include "state/store_spec.h"

namespace couponflow::ops {

namespace {

constexpr int kBrokerTimeoutMs = 10'000;

std::string json_string(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

std::string json_strings(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + json_string(items[i]);
  return out + "]";
}

std::vector<std::string> child_names(const topology::Topology& t, const std::vector<topology::NodeRef>& children) {
  std::vector<std::string> names;
  for (const auto& c : children) {
    switch (c.kind) {
      case topology::NodeKind::kSource: names.push_back(t.sources()[c.index].name); break;
      case topology::NodeKind::kProcessor: names.push_back(t.processors()[c.index].name); break;
      case topology::NodeKind::kSink: names.push_back(t.sinks()[c.index].name); break;
    }
  }
  return names;
}

}  // namespace

int64_t ApplicationDescription::total_lag() const {
  int64_t total = 0;
  for (const auto& in : inputs) total += in.table ? 0 : in.lag;
  return total;
}

ApplicationDescription describe_topology(const topology::Topology& topology, const std::string& application_id) {
  ApplicationDescription d;
  d.application_id = application_id;
  d.topology = &topology;
  return d;
}

ApplicationDescription describe_application(const kafka::ClientProperties& client, const topology::Topology& topology,
                                            const std::string& application_id, processor::Admin* admin) {
  ApplicationDescription d = describe_topology(topology, application_id);
  d.cluster = true;
  if (admin != nullptr && admin->supported()) d.group = admin->describe_group(application_id);
  std::map<TopicPartition, std::string> owners;
  if (d.group) {
    for (const auto& m : d.group->members) {
      for (const auto& tp : m.assignment) owners[tp] = m.instance_id.empty() ? m.client_id : m.instance_id;
    }
  }

  const auto partitions = kafka::list_topics(client);
  auto count = [&](const std::string& topic) {
    auto it = partitions.find(topic);
    if (it == partitions.end()) throw FatalError("missing topic " + topic);
    return it->second;
  };
  // A consumer of the group that never subscribes only reads the group's offsets.
  kafka::KafkaConsumer reader(client, application_id, nullptr);
  std::vector<TopicPartition> inputs;
  for (const auto& source : topology.sources()) {
    for (int32_t p = 0; p < count(source.topic); ++p) inputs.push_back({source.topic, Partition{p}});
  }
  const auto committed = reader.committed(inputs, kBrokerTimeoutMs);
  for (const auto& tp : inputs) {
    ApplicationDescription::InputPartition in;
    in.partition = tp;
    in.table = tp.topic != topology.primary_source().topic;
    if (auto it = committed.find(tp); it != committed.end()) in.committed = it->second;
    const auto wm = reader.query_watermarks(tp, kBrokerTimeoutMs);
    in.log_start = wm.low;
    in.log_end = wm.high;
    in.lag = std::max<int64_t>(0, wm.high.value - std::max(wm.low, in.committed.value_or(wm.low)).value);
    // The group assigns the stream source; a task reads its table partition itself.
    if (auto it = owners.find({topology.primary_source().topic, tp.partition}); it != owners.end()) in.owner = it->second;
    d.inputs.push_back(std::move(in));
  }
  for (const auto& store : topology.stores()) {
    if (store.source_topic) continue;
    const std::string topic = state::changelog_topic(application_id, store);
    for (int32_t p = 0; p < count(topic); ++p) {
      const TopicPartition tp{topic, Partition{p}};
      const auto wm = reader.query_watermarks(tp, kBrokerTimeoutMs);
      d.changelogs.push_back({tp, wm.low, wm.high});
    }
  }
  reader.close();
  return d;
}

std::string format_description(const ApplicationDescription& d) {
  const auto& t = *d.topology;
  std::string out = fmt::format("application {}: one task per partition of {}\ntopology:\n{}", d.application_id,
                                t.primary_source().topic, t.describe());
  for (const auto& s : t.stores()) {
    std::vector<std::string> views;
    for (const auto& v : s.views) views.push_back(v.name);
    out += fmt::format("  store {} (changelog {}{}{})\n", s.name, state::changelog_topic(d.application_id, s),
                       views.empty() ? "" : "; views ", fmt::join(views, ", "));
  }
  if (!d.cluster) return out;
  if (!d.group) {
    out += "group: members unknown (the cluster cannot describe groups: the embedded broker)\n";
  } else {
    out += fmt::format("group: {}, {} member(s)\n", d.group->state, d.group->members.size());
    for (const auto& m : d.group->members) {
      std::vector<std::string> parts;
      for (const auto& tp : m.assignment) parts.push_back(fmt::format("{}", tp));
      out += fmt::format("  member {} (client {}{}{}, host {}): {}\n", m.member_id, m.client_id,
                         m.instance_id.empty() ? "" : ", instance ", m.instance_id, m.host,
                         parts.empty() ? "nothing assigned" : fmt::format("{}", fmt::join(parts, ", ")));
    }
  }
  out += "inputs (committed / end, lag):\n";
  for (const auto& in : d.inputs) {
    out += fmt::format("  {}: {} / {}, lag {}{}{}{}\n", in.partition,
                       in.committed ? std::to_string(in.committed->value) : std::string("none"), in.log_end.value,
                       in.lag, in.table ? " (table)" : "", in.owner.empty() ? "" : ", owner ", in.owner);
  }
  out += fmt::format("lag: {} request(s) waiting\n", d.total_lag());
  out += "changelogs (start..end):\n";
  for (const auto& c : d.changelogs) {
    out += fmt::format("  {}: {}..{}{}\n", c.partition, c.log_start.value, c.log_end.value,
                       c.log_start.value > 0 ? " (its log no longer starts at 0)" : "");
  }
  return out;
}

std::string format_description_json(const ApplicationDescription& d) {
  const auto& t = *d.topology;
  std::string out = "{\"application_id\":" + json_string(d.application_id) + ",\"topology\":{\"sources\":[";
  for (size_t i = 0; i < t.sources().size(); ++i) {
    const auto& s = t.sources()[i];
    out += fmt::format("{}{{\"name\":{},\"topic\":{},\"table\":{},\"store\":{},\"children\":{}}}", i ? "," : "",
                       json_string(s.name), json_string(s.topic), s.is_table,
                       s.is_table ? json_string(s.table_store) : "null", json_strings(child_names(t, s.children)));
  }
  out += "],\"processors\":[";
  for (size_t i = 0; i < t.processors().size(); ++i) {
    const auto& p = t.processors()[i];
    out += fmt::format("{}{{\"name\":{},\"stores\":{},\"children\":{}}}", i ? "," : "", json_string(p.name),
                       json_strings(p.stores), json_strings(child_names(t, p.children)));
  }
  out += "],\"sinks\":[";
  for (size_t i = 0; i < t.sinks().size(); ++i) {
    out += fmt::format("{}{{\"name\":{},\"topic\":{}}}", i ? "," : "", json_string(t.sinks()[i].name),
                       json_string(t.sinks()[i].topic));
  }
  out += "],\"stores\":[";
  for (size_t i = 0; i < t.stores().size(); ++i) {
    const auto& s = t.stores()[i];
    std::vector<std::string> views;
    for (const auto& v : s.views) views.push_back(v.name);
    out += fmt::format("{}{{\"name\":{},\"changelog\":{},\"views\":{}}}", i ? "," : "", json_string(s.name),
                       json_string(state::changelog_topic(d.application_id, s)), json_strings(views));
  }
  out += "]}";
  if (!d.cluster) return out + "}\n";
  out += ",\"group\":";
  if (!d.group) {
    out += "null";
  } else {
    out += "{\"state\":" + json_string(d.group->state) + ",\"members\":[";
    for (size_t i = 0; i < d.group->members.size(); ++i) {
      const auto& m = d.group->members[i];
      std::vector<std::string> parts;
      for (const auto& tp : m.assignment) parts.push_back(fmt::format("{}", tp));
      out += fmt::format("{}{{\"member_id\":{},\"client_id\":{},\"instance_id\":{},\"host\":{},\"assignment\":{}}}",
                         i ? "," : "", json_string(m.member_id), json_string(m.client_id), json_string(m.instance_id),
                         json_string(m.host), json_strings(parts));
    }
    out += "]}";
  }
  out += ",\"inputs\":[";
  for (size_t i = 0; i < d.inputs.size(); ++i) {
    const auto& in = d.inputs[i];
    out += fmt::format("{}{{\"topic\":{},\"partition\":{},\"table\":{},\"committed\":{},\"log_start\":{},\"log_end\":{},"
                       "\"lag\":{},\"owner\":{}}}",
                       i ? "," : "", json_string(in.partition.topic), in.partition.partition.value, in.table,
                       in.committed ? std::to_string(in.committed->value) : std::string("null"), in.log_start.value,
                       in.log_end.value, in.lag, in.owner.empty() ? "null" : json_string(in.owner));
  }
  out += fmt::format("],\"lag\":{},\"changelogs\":[", d.total_lag());
  for (size_t i = 0; i < d.changelogs.size(); ++i) {
    const auto& c = d.changelogs[i];
    out += fmt::format("{}{{\"topic\":{},\"partition\":{},\"log_start\":{},\"log_end\":{}}}", i ? "," : "",
                       json_string(c.partition.topic), c.partition.partition.value, c.log_start.value, c.log_end.value);
  }
  return out + "]}\n";
}

}  // namespace couponflow::ops
