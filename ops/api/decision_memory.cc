#include "ops/api/decision_memory.h"

#include <utility>
#include <vector>

namespace couponflow::ops {

struct DecisionMemory::Wait {
  std::string request_id;
  Completion done;  // empty once completed
};

DecisionMemory::DecisionMemory(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

DecisionMemory::~DecisionMemory() = default;

size_t DecisionMemory::remember(std::string_view request_id, std::string_view result) {
  std::vector<Completion> ready;
  std::string id(request_id);
  size_t remembered = 0;
  {
    std::lock_guard lock(mutex_);
    auto [it, inserted] = results_.try_emplace(id, result);
    if (!inserted) {
      it->second.assign(result);
    } else {
      order_.push_back(id);
      // A re-seen id keeps its first place in order_: the bound counts distinct ids.
      while (results_.size() > capacity_) {
        results_.erase(order_.front());
        order_.pop_front();
        ++forgotten_;
      }
    }
    auto [first, last] = waits_.equal_range(id);
    for (auto w = first; w != last; ++w) ready.push_back(std::exchange(w->second->done, nullptr));
    waits_.erase(first, last);
    remembered = results_.size();
  }
  for (auto& done : ready) done(std::string(result));
  return remembered;
}

std::optional<std::string> DecisionMemory::find(std::string_view request_id) const {
  std::lock_guard lock(mutex_);
  auto it = results_.find(std::string(request_id));
  if (it == results_.end()) return std::nullopt;
  return it->second;
}

std::shared_ptr<DecisionMemory::Wait> DecisionMemory::wait(const std::string& request_id, Completion done) {
  auto w = std::make_shared<Wait>();
  w->request_id = request_id;
  std::optional<std::string> known;
  {
    std::lock_guard lock(mutex_);
    auto it = results_.find(request_id);
    if (it != results_.end()) {
      known = it->second;
    } else {
      w->done = std::move(done);
      waits_.emplace(request_id, w);
    }
  }
  if (known) done(std::move(known));
  return w;
}

void DecisionMemory::expire(const std::shared_ptr<Wait>& wait) {
  Completion done;
  {
    std::lock_guard lock(mutex_);
    if (!wait->done) return;  // completed already
    done = std::move(wait->done);
    wait->done = nullptr;
    auto [first, last] = waits_.equal_range(wait->request_id);
    for (auto w = first; w != last; ++w) {
      if (w->second == wait) {
        waits_.erase(w);
        break;
      }
    }
  }
  done(std::nullopt);
}

size_t DecisionMemory::size() const {
  std::lock_guard lock(mutex_);
  return results_.size();
}

size_t DecisionMemory::waiting() const {
  std::lock_guard lock(mutex_);
  return waits_.size();
}

uint64_t DecisionMemory::forgotten() const {
  std::lock_guard lock(mutex_);
  return forgotten_;
}

}  // namespace couponflow::ops
