#pragma once
// The first-come-first-served coupon issuance topology, on the engine.
//
//   coupon-issuance (stream) ──> issuer ──> coupon-issued    (ACCEPTED)
//                                  │   ├──> coupon-rejected  (REJECTED)
//                                  │   └──> coupon-issuance-dlq (undecidable)
//                                  │ reads/writes: issued (+ view counts)
//   coupon-catalog (table) ──> catalog store ◄┘ reads

#include <cstddef>
#include <string>

#include "topology/dead_letter.h"
#include "topology/topology.h"

namespace couponflow::coupon {

struct CouponTopics {
  std::string issuance = "coupon-issuance";
  std::string catalog = "coupon-catalog";
  std::string issued = "coupon-issued";
  std::string rejected = "coupon-rejected";
  std::string dlq = "coupon-issuance-dlq";
};

struct CouponOptions {
  CouponTopics topics;
  /// Request values larger than this are undecidable (TOO_LARGE).
  size_t max_request_bytes = 16 * 1024;
  /// A DLQ entry larger than this leaves out the original value (and key): see
  /// topology::DeadLetter.
  size_t max_dead_letter_bytes = topology::kDefaultMaxDeadLetterBytes;
};

topology::Topology build_coupon_topology(const CouponOptions& options = {});

}  // namespace couponflow::coupon
