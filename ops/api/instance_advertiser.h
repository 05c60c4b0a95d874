#pragma once
// A processor instance telling the api where it answers queries and for which partitions.

#include <functional>
#include <memory>
#include <string>

#include "processor/kafka/client_properties.h"
#include "processor/stream_thread.h"

namespace couponflow::ops {

/// Role: publishes this instance's InstanceClaim to the instances topic whenever the
/// partitions it runs or restores change (checked every `check_interval_ms`), and again
/// every `refresh_ms` (a newcomer reading a topic that retention trimmed still finds
/// it). On destruction it publishes empty lists: a clean stop withdraws its claims.
/// A claim only says where to ask: the instance checks ownership again when it answers
/// (InstanceQueries), so a stale claim costs the api a retry, never a wrong answer.
/// If the topic does not exist it says so once and advertises nothing (queries are not
/// routed here, processing is unaffected).
/// Thread: one of its own; `status` is called from it.
class InstanceAdvertiser {
 public:
  struct Options {
    std::string topic;
    std::string instance;  // name in the claim ("" -> the address)
    std::string address;   // HOST:PORT where InstanceQueries answers
    int check_interval_ms = 200;
    int refresh_ms = 30'000;
  };
  InstanceAdvertiser(const kafka::ClientProperties& client, Options options,
                     std::function<processor::ThreadStatus()> status);
  ~InstanceAdvertiser();
  InstanceAdvertiser(const InstanceAdvertiser&) = delete;
  InstanceAdvertiser& operator=(const InstanceAdvertiser&) = delete;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace couponflow::ops
