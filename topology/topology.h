#pragma once
// A declarative topology: sources (topics), processors, sinks (topics) and the stores
// processors use, validated once by TopologyBuilder::build and then immutable.
//
//   stream source ─┐
//                  ├─> processor ──> processor ──> sink
//   table source ──┘        │ uses
//     (materializes         └──── stores
//      a table store)
//
// Every source is read per partition; the sources of one topology are co-partitioned
// and a task (one per partition) merges them in record-timestamp order, table sources
// first on ties, like a Kafka Streams stream-table join.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "state/store_spec.h"
#include "topology/processor.h"

namespace couponflow::topology {

using ProcessorFactory = std::function<std::unique_ptr<Processor>()>;

/// How a table source turns one record into a table change. `kSkip` leaves the table as
/// it is; the engine logs it with `reason` and counts it under `skip_label`.
struct TableUpdate {
  enum class Kind { kPut, kDelete, kSkip };
  Kind kind = Kind::kSkip;
  std::string value;       // kPut: the stored value
  std::string reason;      // kSkip: why, for people
  std::string skip_label;  // kSkip: why, as a short metric label value from a fixed set
};
/// A record of a table source, as its materializer sees it.
struct TableRecord {
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;  // nullopt: a tombstone
  Partition partition;
  int32_t partition_count = 0;  // of the task's co-partitioned sources
};
/// Must be a pure function of the record and must not throw for any input: the same
/// function rebuilds the table when the store is restored from its source topic, so a
/// record skipped live is skipped on restore, and no record can stop a task.
using TableMaterializer = std::function<TableUpdate(const TableRecord& record)>;

enum class NodeKind { kSource, kProcessor, kSink };

struct NodeRef {
  NodeKind kind;
  uint32_t index;
};

struct SourceNode {
  std::string name;
  std::string topic;
  bool is_table = false;
  std::string table_store;          // is_table only
  TableMaterializer materializer;   // is_table only
  std::vector<NodeRef> children;
};

struct ProcessorNode {
  std::string name;
  ProcessorFactory factory;
  std::vector<std::string> stores;
  std::vector<std::string> child_names;
  std::vector<NodeRef> children;
};

struct SinkNode {
  std::string name;
  std::string topic;
};

/// A validated topology. Cheap to share between tasks (tasks instantiate processors
/// from the factories).
class Topology {
 public:
  const std::vector<SourceNode>& sources() const { return sources_; }
  const std::vector<ProcessorNode>& processors() const { return processors_; }
  const std::vector<SinkNode>& sinks() const { return sinks_; }
  const std::vector<state::StoreSpec>& stores() const { return stores_; }

  /// The source whose partitions define the tasks (the first stream source).
  const SourceNode& primary_source() const { return sources_.at(primary_source_); }
  const state::StoreSpec* find_store(std::string_view name) const;
  /// Where a record goes whose processing keeps throwing (see TopologyBuilder::
  /// dead_letters); unset: such a record stops the task.
  const std::optional<std::string>& dead_letter_topic() const { return dead_letter_topic_; }
  /// Every topic the topology reads or writes, changelogs included.
  std::vector<std::string> topics(std::string_view application_id) const;
  std::string describe() const;

 private:
  friend class TopologyBuilder;
  std::vector<SourceNode> sources_;
  std::vector<ProcessorNode> processors_;
  std::vector<SinkNode> sinks_;
  std::vector<state::StoreSpec> stores_;
  std::optional<std::string> dead_letter_topic_;
  size_t primary_source_ = 0;
};

/// Builds a Topology. Names are unique across sources, processors and sinks; `build`
/// throws std::invalid_argument naming the first problem found.
class TopologyBuilder {
 public:
  TopologyBuilder& stream(std::string name, std::string topic);
  /// A table source: `store` (declared with source_topic == topic) holds the latest
  /// value per key as `materializer` maps it; children see each applied change.
  TopologyBuilder& table(std::string name, std::string topic, std::string store,
                         TableMaterializer materializer);
  TopologyBuilder& store(state::StoreSpec spec);
  TopologyBuilder& processor(std::string name, ProcessorFactory factory,
                             std::vector<std::string> parents, std::vector<std::string> stores);
  TopologyBuilder& sink(std::string name, std::string topic, std::vector<std::string> parents);
  /// A record whose processing throws on every try is sent here, with its original key
  /// and value and the contract's dlq.* headers (dlq.reason PROCESSING_ERROR), and
  /// processing goes on (Kafka Streams' KIP-1034 dead letter queue).
  TopologyBuilder& dead_letters(std::string topic);
  Topology build() &&;

 private:
  struct PendingEdge {
    std::string parent;
    std::string child;
  };
  Topology topology_;
  std::vector<PendingEdge> edges_;
};

}  // namespace couponflow::topology
