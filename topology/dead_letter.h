#pragma once
// Dead-letter entries (contract: DLQ): the record that could not be judged, with its
// original key and value, and headers saying why and where it came from. Built here
// once, for the engine (PROCESSING_ERROR) and for processors (their own reasons).

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "common/record.h"

namespace couponflow::topology {

namespace dlq_header {
inline constexpr std::string_view kReason = "dlq.reason";
inline constexpr std::string_view kError = "dlq.error";
inline constexpr std::string_view kSourceTopic = "dlq.source.topic";
inline constexpr std::string_view kSourcePartition = "dlq.source.partition";
inline constexpr std::string_view kSourceOffset = "dlq.source.offset";
inline constexpr std::string_view kFailedAt = "dlq.failed-at";
/// Present when the entry leaves out the original key and/or value (see DeadLetter).
inline constexpr std::string_view kOmitted = "dlq.omitted";
}  // namespace dlq_header

/// An entry larger than this would be refused by a broker with default limits
/// (message.max.bytes ~1 MB), which would stop the task on the same record forever.
inline constexpr size_t kDefaultMaxDeadLetterBytes = 900'000;
/// dlq.error is cut to this length (errors may quote the input).
inline constexpr size_t kMaxDeadLetterErrorBytes = 1024;

/// Role: one dead-letter entry, owning the header values its message() points into.
/// An entry whose key, value and headers together would exceed `max_bytes` leaves out
/// the value (and, if that is not enough, the key) and names what it left out in
/// dlq.omitted ("value 1048000 bytes"): its dlq.source.* headers still locate the record.
class DeadLetter {
 public:
  DeadLetter(const Record& record, std::string_view reason, std::string_view error, EpochMillis failed_at,
             size_t max_bytes = kDefaultMaxDeadLetterBytes);
  DeadLetter(const DeadLetter&) = delete;
  DeadLetter& operator=(const DeadLetter&) = delete;

  /// The entry, keyed like the original; valid while this object lives.
  Message message() const;
  bool omits_anything() const { return !omitted_.empty(); }

 private:
  std::optional<std::string_view> key_, value_;
  EpochMillis timestamp_;
  std::string reason_, error_, partition_, offset_, failed_at_, omitted_, topic_;
  std::array<Header, 7> headers_;
  size_t header_count_ = 0;
};

/// At most `max` bytes of `s`, cut at a UTF-8 character boundary, with "..." when cut:
/// for quoting input in log lines and errors.
std::string quote_prefix(std::string_view s, size_t max = 64);

}  // namespace couponflow::topology
