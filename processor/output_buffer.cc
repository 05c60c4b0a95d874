#include "processor/output_buffer.h"

namespace couponflow::processor {

OutputBuffer::Span OutputBuffer::copy(std::optional<std::string_view> bytes) {
  if (!bytes) return {};
  Span s{bytes_.size(), bytes->size(), true};
  bytes_.append(bytes->data(), bytes->size());
  return s;
}

void OutputBuffer::add(const std::string& topic, std::optional<Partition> partition, const Message& message) {
  Entry e{&topic, partition, copy(message.key), copy(message.value), message.timestamp, headers_.size(), 0};
  for (const auto& h : message.headers) headers_.emplace_back(copy(h.key), copy(h.value));
  e.headers_end = headers_.size();
  entries_.push_back(e);
}

void OutputBuffer::send_to(RecordCollector& collector) {
  for (const auto& e : entries_) {
    header_views_.clear();
    for (size_t h = e.headers_begin; h < e.headers_end; ++h) {
      header_views_.push_back({view(headers_[h].first), view(headers_[h].second)});
    }
    Message m{e.key.present ? std::optional<std::string_view>(view(e.key)) : std::nullopt,
              e.value.present ? std::optional<std::string_view>(view(e.value)) : std::nullopt, e.timestamp,
              header_views_};
    collector.send(*e.topic, e.partition, m);
  }
  clear();
}

void OutputBuffer::clear() {
  bytes_.clear();
  entries_.clear();
  headers_.clear();
}

}  // namespace couponflow::processor
