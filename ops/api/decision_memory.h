#pragma once
// The api's bounded memory of recent decisions, by requestId, and the long polls
// waiting for one.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace couponflow::ops {

/// Role: remembers the result value of the last `capacity` decisions it was told
/// (oldest forgotten first; a decision seen again replaces the remembered one), and
/// completes waits for a requestId as soon as its decision arrives.
/// Thread: every method from any thread; completions run on the thread that calls
/// remember() or expire() (or wait() itself if the decision is already known), outside
/// the lock, and must not block.
class DecisionMemory {
 public:
  using Completion = std::function<void(std::optional<std::string> result)>;
  struct Wait;  // a pending wait, for expire()

  explicit DecisionMemory(size_t capacity);
  ~DecisionMemory();

  /// Returns how many decisions are remembered now (for the gauge, without a second lock).
  size_t remember(std::string_view request_id, std::string_view result);
  std::optional<std::string> find(std::string_view request_id) const;
  /// `done` runs once: with the result as soon as it is known (at once if it already
  /// is), or with nullopt when expire() comes first.
  std::shared_ptr<Wait> wait(const std::string& request_id, Completion done);
  /// Ends a wait that has not completed yet, with nullopt.
  void expire(const std::shared_ptr<Wait>& wait);

  size_t size() const;
  size_t waiting() const;
  uint64_t forgotten() const;

 private:
  const size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::string> results_;
  std::deque<std::string> order_;  // request ids, oldest first (a re-seen id appears twice)
  std::unordered_multimap<std::string, std::shared_ptr<Wait>> waits_;
  uint64_t forgotten_ = 0;
};

}  // namespace couponflow::ops
