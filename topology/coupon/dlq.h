#pragma once
// Why a record could not be judged, and the DLQ headers that say so (contract: DLQ).

#include <string>
#include <string_view>

#include "topology/dead_letter.h"

namespace couponflow::coupon {

enum class DlqReason {
  kMalformed,     // not a JSON object, invalid JSON or UTF-8, null value
  kMissingField,  // couponId or userId absent
  kInvalidField,  // a known field of the wrong type, or an empty id
  kMisrouted,     // key differs from couponId, or the wrong partition for the coupon
  kTooLarge,      // value larger than the configured maximum
};
inline constexpr size_t kDlqReasons = 5;

inline std::string_view to_string(DlqReason reason) {
  switch (reason) {
    case DlqReason::kMalformed: return "MALFORMED";
    case DlqReason::kMissingField: return "MISSING_FIELD";
    case DlqReason::kInvalidField: return "INVALID_FIELD";
    case DlqReason::kMisrouted: return "MISROUTED";
    case DlqReason::kTooLarge: return "TOO_LARGE";
  }
  return "UNKNOWN";
}

/// A record's rejection from processing: the reason plus a human sentence.
struct DlqVerdict {
  DlqReason reason;
  std::string error;
};

/// The DLQ headers, defined once for the engine and every processor.
namespace dlq_header = topology::dlq_header;

}  // namespace couponflow::coupon
