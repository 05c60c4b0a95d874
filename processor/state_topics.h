#pragma once
// The topics that hold an application's state, and their one non-negotiable setting:
// changelogs and table sources (the catalog) must be compacted, never trimmed by
// retention. A trimmed changelog loses holdings: the next restore from it is refused and
// the partition stops; a trimmed catalog forgets coupons. Kafka Streams checks its
// internal topics the same way when it starts.

#include <map>
#include <string>
#include <vector>

#include "processor/admin.h"
#include "topology/topology.h"

namespace couponflow::processor {

/// Every store's changelog: the changelog topic of a store, or the source topic of a
/// table store (which is its changelog).
std::vector<std::string> state_topics(const topology::Topology& topology, const std::string& application_id);

/// One line per topic of `topics` whose cleanup.policy is known and does not include
/// compact (empty: all compacted, or the cluster did not say).
std::vector<std::string> compaction_problems(const std::vector<std::string>& topics,
                                             const std::map<std::string, TopicDescription>& described);

/// At start: FatalError naming each state topic that is not compacted. On a cluster
/// without the Admin API (the embedded broker) it logs that it cannot check, once per
/// process, and returns. RetriableError if the cluster does not answer.
void validate_state_topics(Admin& admin, const topology::Topology& topology, const std::string& application_id);

}  // namespace couponflow::processor
