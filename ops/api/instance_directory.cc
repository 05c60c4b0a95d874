#include "ops/api/instance_directory.h"

#include <algorithm>
#include <map>
#include <mutex>

#include "common/log.h"
#include "ops/api/topic_tail.h"

namespace couponflow::ops {

struct InstanceDirectory::Impl {
  mutable std::mutex mutex;
  std::map<std::string, InstanceClaim> claims;  // by instance name
  std::unique_ptr<TopicTail> tail;
};

InstanceDirectory::InstanceDirectory(const kafka::ClientProperties& client, const std::string& topic)
    : impl_(std::make_unique<Impl>()) {
  impl_->tail = std::make_unique<TopicTail>(
      client, std::vector<std::string>{topic}, [](const processor::Watermarks& w) { return w.low; },
      [this](const Record& r) { apply(r.key.value_or(""), r.value); }, "instance directory");
}

InstanceDirectory::InstanceDirectory() : impl_(std::make_unique<Impl>()) {}

InstanceDirectory::~InstanceDirectory() { impl_->tail.reset(); }

void InstanceDirectory::apply(std::string_view key, std::optional<std::string_view> value) {
  if (!value) {  // a tombstone: the instance is gone for good
    std::lock_guard lock(impl_->mutex);
    impl_->claims.erase(std::string(key));
    return;
  }
  std::string error;
  auto claim = parse_claim(*value, error);
  if (!claim) {
    log::warn("instance directory: skipped a record that is not a claim ({})", error);
    return;
  }
  std::lock_guard lock(impl_->mutex);
  impl_->claims[claim->instance] = std::move(*claim);
}

QueryRoute InstanceDirectory::route(int32_t partition) const {
  std::vector<std::pair<int64_t, std::string>> running;
  QueryRoute route;
  std::lock_guard lock(impl_->mutex);
  for (const auto& [name, claim] : impl_->claims) {
    for (const auto& r : claim.running) {
      if (r.partition == partition) running.emplace_back(r.since, claim.address);
    }
    if (std::binary_search(claim.restoring.begin(), claim.restoring.end(), partition)) route.restoring = true;
  }
  // The newest claim first: an instance that took the partition over claims it later
  // than the one it took it from, which may not have withdrawn its claim (a crash).
  std::sort(running.begin(), running.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (auto& [since, address] : running) route.running.push_back(std::move(address));
  return route;
}

std::vector<InstanceClaim> InstanceDirectory::instances() const {
  std::lock_guard lock(impl_->mutex);
  std::vector<InstanceClaim> out;
  for (const auto& [name, claim] : impl_->claims) out.push_back(claim);
  return out;
}

bool InstanceDirectory::ready() const { return !impl_->tail || impl_->tail->ready(); }

}  // namespace couponflow::ops
