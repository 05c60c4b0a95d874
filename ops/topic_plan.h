#pragma once
// Every topic an application uses and the settings it needs: what `couponflow topics
// create` creates and `couponflow topics check` compares the cluster with.

#include <map>
#include <string>
#include <vector>

#include "processor/admin.h"
#include "topology/topology.h"

namespace couponflow::ops {

struct TopicPlanOptions {
  int32_t partitions = 12;           // every topic: the input's count (co-partitioning)
  int32_t replication_factor = 3;
  int32_t min_insync_replicas = 2;   // with acks=all: a write survives one broker lost
};

struct PlannedTopic {
  processor::NewTopic topic;
  bool state = false;  // a changelog or table source: compacted; every other topic: not
};

/// Inputs, outputs, the DLQ, changelogs and the catalog, each with its partitions,
/// replication factor, cleanup.policy and min.insync.replicas.
std::vector<PlannedTopic> topic_plan(const topology::Topology& topology, const std::string& application_id,
                                     const TopicPlanOptions& options);

/// What differs between the plan and the cluster, one line per problem (empty: fine):
/// a missing topic, another partition count, a state topic not compacted or another
/// topic compacted (it would keep only the last record of each coupon), a lower
/// replication factor or min.insync.replicas.
std::vector<std::string> check_topics(const std::vector<PlannedTopic>& plan,
                                      const std::map<std::string, processor::TopicDescription>& described);

}  // namespace couponflow::ops
