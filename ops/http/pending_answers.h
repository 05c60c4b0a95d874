#pragma once
// The answers an HttpServer still waits for: each is a suspended connection that resumes
// when its handler responds. The server owns them, not the handler's callbacks, so a
// callback kept (or called) after the server has stopped is a harmless no-op instead of
// the last owner of a coroutine whose destruction needs the server's io_context.

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>

namespace couponflow::ops {

struct HttpResponse;

/// One suspended connection: resumes it with a response (by posting to its executor).
class PendingAnswer {
 public:
  virtual ~PendingAnswer() = default;
  virtual void resume(HttpResponse&& response) = 0;
};

/// Role: owns every answer still awaited, under one mutex; the first `answer` of an id
/// resumes its connection, later ones (and any after `close`) do nothing.
/// Thread: any. Every entry is destroyed under the mutex, and `close` takes it last,
/// so nothing is destroyed after the server's `close` returns.
class PendingAnswers {
 public:
  /// Registers an awaited answer; its id is what the respond callback carries.
  uint64_t add(std::unique_ptr<PendingAnswer> pending) {
    std::lock_guard lock(mutex_);
    if (closed_) return 0;  // the server stopped: `pending` is dropped here, with its connection
    const uint64_t id = ++last_id_;
    entries_.emplace(id, std::move(pending));
    return id;
  }

  /// Resumes the connection waiting under `id` with `response`, if it still waits.
  void answer(uint64_t id, HttpResponse&& response) {
    std::lock_guard lock(mutex_);
    const auto it = entries_.find(id);
    if (it == entries_.end()) return;  // answered before, or the server stopped
    it->second->resume(std::move(response));
    entries_.erase(it);
  }

  /// The handler let go of `id` without answering: its connection is dropped now, as an
  /// unanswerable request must not hold a connection until the server stops.
  void abandon(uint64_t id) {
    std::lock_guard lock(mutex_);
    entries_.erase(id);
  }

  /// Drops every waiting connection and ignores whatever comes later. Call it while the
  /// io_context the connections belong to still exists.
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    entries_.clear();
  }

 private:
  std::mutex mutex_;
  bool closed_ = false;
  uint64_t last_id_ = 0;
  std::unordered_map<uint64_t, std::unique_ptr<PendingAnswer>> entries_;
};

}  // namespace couponflow::ops
