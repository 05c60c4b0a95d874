#pragma once
// The per-task merge of its source partitions, in record-timestamp order.
//
// Like Kafka Streams' PartitionGroup: the next record is the head with the smallest
// timestamp (ties go to table sources, then to source order). While a source's buffer
// is empty, its next record might be older than every buffered one, so the group only
// picks when each empty source is known to be caught up with its log end (KIP-695).

#include <cstddef>
#include <deque>
#include <functional>
#include <optional>
#include <vector>

#include "common/record.h"

namespace couponflow::processor {

enum class SourceProgress {
  kCaughtUp,  // nothing more in the log right now
  kBehind,    // the log has records not yet fetched
  kUnknown,   // not known yet (no fetch answered)
};

class PartitionGroup {
 public:
  /// `table_first[i]`: source i wins timestamp ties (table sources).
  explicit PartitionGroup(std::vector<bool> table_first);

  void add(size_t source, Record record) { queues_.at(source).push_back(std::move(record)); }
  size_t buffered(size_t source) const { return queues_.at(source).size(); }
  size_t total_buffered() const;
  /// Some source has nothing buffered.
  bool has_empty_source() const;

  struct Choice {
    enum class Kind { kReady, kEmpty, kWaiting };
    Kind kind;
    size_t source = 0;
  };
  /// kReady: process `source` next. kEmpty: nothing buffered. kWaiting: records are
  /// buffered but an empty source may still deliver an older one. With `enforce`, a
  /// source that is not caught up does not hold the others back.
  Choice next(const std::function<SourceProgress(size_t)>& progress, bool enforce) const;
  Record pop(size_t source);
  void clear();

 private:
  std::vector<std::deque<Record>> queues_;
  std::vector<bool> table_first_;
};

}  // namespace couponflow::processor
