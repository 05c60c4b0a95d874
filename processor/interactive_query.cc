#include "processor/interactive_query.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

#include "common/log.h"
#include "processor/task.h"

namespace couponflow::processor {

std::string_view to_string(QueryOutcome outcome) {
  switch (outcome) {
    case QueryOutcome::kAnswered: return "answered";
    case QueryOutcome::kNotOwner: return "not owner";
    case QueryOutcome::kRestoring: return "restoring";
    case QueryOutcome::kTimedOut: return "timed out";
  }
  return "?";
}

state::ReadableStore& QueryableStores::store(std::string_view name) { return task_.store(name); }

state::ReadableStore& QueryableStores::view(std::string_view store, std::string_view view) {
  return task_.store(store).view(view);
}

/// One submitted query. Its mutex is held while the stream thread runs it, so a caller
/// that times out waits for a query already running instead of leaving it a dangling
/// StoreQuery; a query not yet started is withdrawn.
struct QueryMailbox::Pending {
  Partition partition;
  const StoreQuery* query;  // the caller's, valid while !withdrawn
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  bool withdrawn = false;
  QueryOutcome outcome = QueryOutcome::kNotOwner;
};

QueryMailbox::QueryMailbox() : event_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (event_fd_ < 0) throw std::runtime_error("eventfd failed");
}

QueryMailbox::~QueryMailbox() { ::close(event_fd_); }

QueryOutcome QueryMailbox::submit(Partition partition, const StoreQuery& query, int timeout_ms) {
  auto pending = std::make_shared<Pending>();
  pending->partition = partition;
  pending->query = &query;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return QueryOutcome::kNotOwner;
    queue_.push_back(pending);
  }
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(event_fd_, &one, sizeof one);  // a full counter still wakes
  std::unique_lock lock(pending->mutex);
  if (!pending->done_cv.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return pending->done; })) {
    pending->withdrawn = true;
    return QueryOutcome::kTimedOut;
  }
  return pending->outcome;
}

void QueryMailbox::serve(const std::function<QueryOutcome(Partition, const StoreQuery&)>& run) {
  uint64_t drained;
  [[maybe_unused]] const ssize_t n = ::read(event_fd_, &drained, sizeof drained);
  std::deque<std::shared_ptr<Pending>> batch;
  {
    std::lock_guard lock(mutex_);
    batch.swap(queue_);
  }
  for (auto& pending : batch) {
    std::lock_guard lock(pending->mutex);
    if (pending->withdrawn) continue;
    try {
      pending->outcome = run(pending->partition, *pending->query);
    } catch (const std::exception& e) {
      log::warn("interactive query on partition {} failed: {}", pending->partition, e.what());
      pending->outcome = QueryOutcome::kNotOwner;
    }
    pending->done = true;
    pending->done_cv.notify_one();
  }
}

void QueryMailbox::close() {
  std::deque<std::shared_ptr<Pending>> batch;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    batch.swap(queue_);
  }
  for (auto& pending : batch) {
    std::lock_guard lock(pending->mutex);
    pending->outcome = QueryOutcome::kNotOwner;
    pending->done = true;
    pending->done_cv.notify_one();
  }
}

}  // namespace couponflow::processor
