#include "topology/dead_letter.h"

#include <fmt/format.h>

namespace couponflow::topology {

std::string quote_prefix(std::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;  // not inside a character
  return std::string(s.substr(0, end)) + "...";
}

DeadLetter::DeadLetter(const Record& record, std::string_view reason, std::string_view error, EpochMillis failed_at,
                       size_t max_bytes)
    : key_(record.key),
      value_(record.value),
      timestamp_(record.timestamp),
      reason_(reason),
      error_(quote_prefix(error, kMaxDeadLetterErrorBytes)),
      partition_(fmt::format("{}", record.partition)),
      offset_(fmt::format("{}", record.offset)),
      failed_at_(fmt::format("{}", failed_at)),
      topic_(record.topic) {
  auto size = [&] {
    size_t n = (key_ ? key_->size() : 0) + (value_ ? value_->size() : 0);
    for (const auto* s : {&reason_, &error_, &partition_, &offset_, &failed_at_, &topic_, &omitted_}) n += s->size() + 32;
    return n;
  };
  if (size() > max_bytes && value_) {
    omitted_ = fmt::format("value {} bytes", value_->size());
    value_.reset();
  }
  if (size() > max_bytes && key_) {
    omitted_ += fmt::format("{}key {} bytes", omitted_.empty() ? "" : ", ", key_->size());
    key_.reset();
  }
  headers_[header_count_++] = Header{dlq_header::kReason, reason_};
  headers_[header_count_++] = Header{dlq_header::kError, error_};
  headers_[header_count_++] = Header{dlq_header::kSourceTopic, topic_};
  headers_[header_count_++] = Header{dlq_header::kSourcePartition, partition_};
  headers_[header_count_++] = Header{dlq_header::kSourceOffset, offset_};
  headers_[header_count_++] = Header{dlq_header::kFailedAt, failed_at_};
  if (!omitted_.empty()) headers_[header_count_++] = Header{dlq_header::kOmitted, omitted_};
}

Message DeadLetter::message() const {
  return Message{key_, value_, timestamp_, std::span<const Header>(headers_.data(), header_count_)};
}

}  // namespace couponflow::topology
