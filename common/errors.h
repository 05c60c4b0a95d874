#pragma once
// The few kinds of failure that abandon work, as Kafka Streams names them. Expected
// per-record problems (bad input) are values, not exceptions: see the DLQ path.

#include <stdexcept>
#include <string>

namespace couponflow {

/// The process cannot go on safely: misconfiguration, a log truncated under us, local
/// state that contradicts the broker. The CLI prints the message as one line and exits
/// non-zero; nothing is skipped silently.
class FatalError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The current Kafka transaction cannot commit and must be aborted; the work done in
/// it is to be redone from the last committed offsets (exactly-once mode).
class TransactionAbortedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A broker interaction that may succeed if repeated (timeouts, leader moves).
class RetriableError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace couponflow
