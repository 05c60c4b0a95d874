#include "topology/topology.h"

#include <set>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace couponflow::topology {

const state::StoreSpec* Topology::find_store(std::string_view name) const {
  for (const auto& s : stores_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::vector<std::string> Topology::topics(std::string_view application_id) const {
  std::vector<std::string> topics;
  auto add = [&](const std::string& t) {
    for (const auto& existing : topics) {
      if (existing == t) return;
    }
    topics.push_back(t);
  };
  for (const auto& s : sources_) add(s.topic);
  for (const auto& s : sinks_) add(s.topic);
  for (const auto& s : stores_) add(state::changelog_topic(application_id, s));
  if (dead_letter_topic_) add(*dead_letter_topic_);
  return topics;
}

std::string Topology::describe() const {
  std::string out;
  auto child_names = [&](const std::vector<NodeRef>& children) {
    std::vector<std::string> names;
    for (auto c : children) {
      switch (c.kind) {
        case NodeKind::kSource: names.push_back(sources_[c.index].name); break;
        case NodeKind::kProcessor: names.push_back(processors_[c.index].name); break;
        case NodeKind::kSink: names.push_back(sinks_[c.index].name); break;
      }
    }
    return fmt::format("{}", fmt::join(names, ", "));
  };
  for (const auto& s : sources_) {
    out += fmt::format("  {} source {} (topic {}{}) -> {}\n", s.is_table ? "table" : "stream",
                       s.name, s.topic, s.is_table ? ", store " + s.table_store : "",
                       child_names(s.children));
  }
  for (const auto& p : processors_) {
    out += fmt::format("  processor {} (stores: {}) -> {}\n", p.name, fmt::join(p.stores, ", "),
                       child_names(p.children));
  }
  for (const auto& s : sinks_) out += fmt::format("  sink {} (topic {})\n", s.name, s.topic);
  return out;
}

TopologyBuilder& TopologyBuilder::stream(std::string name, std::string topic) {
  topology_.sources_.push_back(SourceNode{std::move(name), std::move(topic), false, {}, {}, {}});
  return *this;
}

TopologyBuilder& TopologyBuilder::table(std::string name, std::string topic, std::string store,
                                        TableMaterializer materializer) {
  topology_.sources_.push_back(SourceNode{std::move(name), std::move(topic), true,
                                          std::move(store), std::move(materializer), {}});
  return *this;
}

TopologyBuilder& TopologyBuilder::store(state::StoreSpec spec) {
  topology_.stores_.push_back(std::move(spec));
  return *this;
}

TopologyBuilder& TopologyBuilder::processor(std::string name, ProcessorFactory factory,
                                            std::vector<std::string> parents,
                                            std::vector<std::string> stores) {
  for (auto& p : parents) edges_.push_back({std::move(p), name});
  topology_.processors_.push_back(ProcessorNode{std::move(name), std::move(factory),
                                                std::move(stores), {}, {}});
  return *this;
}

TopologyBuilder& TopologyBuilder::sink(std::string name, std::string topic,
                                       std::vector<std::string> parents) {
  for (auto& p : parents) edges_.push_back({std::move(p), name});
  topology_.sinks_.push_back(SinkNode{std::move(name), std::move(topic)});
  return *this;
}

TopologyBuilder& TopologyBuilder::dead_letters(std::string topic) {
  topology_.dead_letter_topic_ = std::move(topic);
  return *this;
}

Topology TopologyBuilder::build() && {
  Topology& t = topology_;
  auto fail = [](const std::string& what) { throw std::invalid_argument("invalid topology: " + what); };

  std::set<std::string> names;
  auto unique = [&](const std::string& n) {
    if (n.empty()) fail("a node has an empty name");
    if (!names.insert(n).second) fail("duplicate node name '" + n + "'");
  };
  for (const auto& s : t.sources_) unique(s.name);
  for (const auto& p : t.processors_) unique(p.name);
  for (const auto& s : t.sinks_) unique(s.name);

  std::set<std::string> store_names;
  for (const auto& s : t.stores_) {
    if (!store_names.insert(s.name).second) fail("duplicate store '" + s.name + "'");
    if (s.name.find('.') != std::string::npos) fail("store name '" + s.name + "' contains '.'");
  }

  bool have_stream = false;
  for (size_t i = 0; i < t.sources_.size(); ++i) {
    const auto& s = t.sources_[i];
    if (s.topic.empty()) fail("source '" + s.name + "' has no topic");
    if (!s.is_table) {
      if (!have_stream) t.primary_source_ = i;
      have_stream = true;
      continue;
    }
    const state::StoreSpec* spec = t.find_store(s.table_store);
    if (spec == nullptr) fail("table source '" + s.name + "' uses undeclared store '" + s.table_store + "'");
    if (spec->source_topic != s.topic) {
      fail("store '" + s.table_store + "' must declare source_topic '" + s.topic + "'");
    }
    if (!s.materializer) fail("table source '" + s.name + "' has no materializer");
  }
  if (!have_stream) fail("no stream source");

  for (const auto& p : t.processors_) {
    if (!p.factory) fail("processor '" + p.name + "' has no factory");
    for (const auto& store : p.stores) {
      if (t.find_store(store) == nullptr) fail("processor '" + p.name + "' uses undeclared store '" + store + "'");
    }
  }

  auto find = [&](const std::string& n) -> std::optional<NodeRef> {
    for (uint32_t i = 0; i < t.sources_.size(); ++i)
      if (t.sources_[i].name == n) return NodeRef{NodeKind::kSource, i};
    for (uint32_t i = 0; i < t.processors_.size(); ++i)
      if (t.processors_[i].name == n) return NodeRef{NodeKind::kProcessor, i};
    for (uint32_t i = 0; i < t.sinks_.size(); ++i)
      if (t.sinks_[i].name == n) return NodeRef{NodeKind::kSink, i};
    return std::nullopt;
  };
  for (const auto& e : edges_) {
    auto parent = find(e.parent);
    if (!parent) fail("'" + e.child + "' names unknown parent '" + e.parent + "'");
    auto child = find(e.child);
    if (parent->kind == NodeKind::kProcessor && child->kind == NodeKind::kProcessor &&
        parent->index >= child->index) {
      // Parents are declared before children, which also rules out cycles.
      fail("processor '" + e.child + "' must be declared after its parent '" + e.parent + "'");
    }
    switch (parent->kind) {
      case NodeKind::kSource: t.sources_[parent->index].children.push_back(*child); break;
      case NodeKind::kProcessor:
        t.processors_[parent->index].children.push_back(*child);
        t.processors_[parent->index].child_names.push_back(e.child);
        break;
      case NodeKind::kSink: fail("sink '" + e.parent + "' cannot have children"); break;
    }
  }
  for (const auto& p : t.processors_) {
    bool has_parent = false;
    for (const auto& e : edges_) has_parent = has_parent || e.child == p.name;
    if (!has_parent) fail("processor '" + p.name + "' has no parent");
  }
  return std::move(topology_);
}

}  // namespace couponflow::topology
