#pragma once
// Interactive queries (Kafka Streams' IQ): reading a running task's stores from outside
// the stream thread, answered by the stream thread itself between two rounds, so a
// query sees exactly the state that decides and needs no lock on the stores.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>

#include "common/types.h"
#include "state/key_value_store.h"

namespace couponflow::processor {

class Task;

/// How a query ended.
enum class QueryOutcome {
  kAnswered,   // the query ran against the partition's running task
  kNotOwner,   // this instance does not run the partition (never had it, or it moved)
  kRestoring,  // the partition's task is here but still restoring its stores
  kTimedOut,   // the owning thread did not get to it in time (busy, or stalled by an outage)
};
std::string_view to_string(QueryOutcome outcome);

/// A running task's stores, read-only, for the span of one query on its stream thread.
/// What `store`/`view` return must not be kept beyond the query (see ReadableStore::get).
class QueryableStores {
 public:
  explicit QueryableStores(Task& task) : task_(task) {}
  /// Errors: std::out_of_range for a store or view the topology does not declare.
  state::ReadableStore& store(std::string_view name);
  state::ReadableStore& view(std::string_view store, std::string_view view);

 private:
  Task& task_;
};

/// What a query does with the stores. Runs on the stream thread: it must be quick and
/// must not throw (an exception is caught and the query reported as not answered).
using StoreQuery = std::function<void(QueryableStores&)>;

/// Role: hands queries from any thread to one stream thread and their outcomes back.
/// submit() blocks its caller until the stream thread has run (or refused) the query, or
/// until the timeout; a timed-out query is withdrawn, never run later against a caller
/// that has gone. Thread: submit() from any thread; serve() and close() from the stream
/// thread. wakeup_fd() becomes readable while queries wait, so the stream thread can
/// wait for records and queries alike.
class QueryMailbox {
 public:
  QueryMailbox();
  ~QueryMailbox();
  QueryMailbox(const QueryMailbox&) = delete;
  QueryMailbox& operator=(const QueryMailbox&) = delete;

  QueryOutcome submit(Partition partition, const StoreQuery& query, int timeout_ms);
  /// Answers every waiting query: `run` runs it (or says why not).
  void serve(const std::function<QueryOutcome(Partition, const StoreQuery&)>& run);
  /// Refuses every waiting and later query as kNotOwner (the thread is stopping).
  void close();
  int wakeup_fd() const { return event_fd_; }

 private:
  struct Pending;
  std::mutex mutex_;
  std::deque<std::shared_ptr<Pending>> queue_;
  bool closed_ = false;
  int event_fd_ = -1;
};

}  // namespace couponflow::processor
