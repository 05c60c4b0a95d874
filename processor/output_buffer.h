#pragma once
// Outputs of the record being processed, held back until it has been processed
// completely: a processor that throws halfway must send nothing (no result, no
// changelog record), or a retry would send them twice.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "common/record.h"
#include "processor/record_collector.h"

namespace couponflow::processor {

/// Role: a reusable arena of messages. Thread: the owning task's. The topics passed to
/// add() must outlive the buffer's contents (they are sink and changelog names owned
/// by the topology and the task).
class OutputBuffer {
 public:
  void add(const std::string& topic, std::optional<Partition> partition, const Message& message);
  /// Sends everything added, in order, then clears.
  void send_to(RecordCollector& collector);
  void clear();
  bool empty() const { return entries_.empty(); }

 private:
  struct Span {
    size_t offset = 0;
    size_t size = 0;
    bool present = false;
  };
  struct Entry {
    const std::string* topic;
    std::optional<Partition> partition;
    Span key, value;
    EpochMillis timestamp;
    size_t headers_begin, headers_end;  // into headers_
  };
  Span copy(std::optional<std::string_view> bytes);
  std::string_view view(const Span& s) const { return {bytes_.data() + s.offset, s.size}; }

  std::string bytes_;  // every key, value and header, back to back (offsets survive growth)
  std::vector<Entry> entries_;
  std::vector<std::pair<Span, Span>> headers_;
  std::vector<Header> header_views_;  // scratch for send_to
};

}  // namespace couponflow::processor
