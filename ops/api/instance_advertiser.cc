#include "ops/api/instance_advertiser.h"

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "common/clock.h"
#include "common/errors.h"
#include "common/log.h"
#include "ops/api/instance_claim.h"
#include "processor/kafka/kafka_producer.h"
#include "processor/kafka/topic_reader.h"

namespace couponflow::ops {

struct InstanceAdvertiser::Impl {
  Options options;
  std::function<processor::ThreadStatus()> status;
  kafka::ClientProperties client;
  std::unique_ptr<kafka::KafkaProducer> producer;  // once the topic is known to exist
  std::map<int32_t, int64_t> running_since;  // partitions seen running, and since when
  InstanceClaim last;
  EpochMillis last_published = 0;
  std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
  std::thread thread;

  InstanceClaim current(EpochMillis now) {
    InstanceClaim claim;
    claim.instance = options.instance.empty() ? options.address : options.instance;
    claim.address = options.address;
    claim.updated_at = now;
    const processor::ThreadStatus s = status();
    std::map<int32_t, int64_t> still_running;
    for (const auto& task : s.tasks) {
      const int32_t p = task.partition.value;
      if (task.state == processor::TaskState::kRunning) {
        auto it = running_since.find(p);
        still_running[p] = it == running_since.end() ? now : it->second;
      } else if (task.state == processor::TaskState::kRestoring || task.state == processor::TaskState::kCreated) {
        claim.restoring.push_back(p);
      }
    }
    running_since = std::move(still_running);
    for (const auto& [p, since] : running_since) claim.running.push_back({p, since});
    std::sort(claim.restoring.begin(), claim.restoring.end());
    return claim;
  }

  void publish(const InstanceClaim& claim) {
    const std::string value = encode_claim(claim);
    producer->send(options.topic, std::nullopt, Message{claim.instance, value, claim.updated_at, {}});
    last = claim;
    last_published = claim.updated_at;
    log::info("advertised {} for queries: running [{}], restoring [{}]", claim.address, claim.running.size(),
              claim.restoring.size());
  }

  // On this thread, not in the constructor: the broker may not answer yet, and the
  // instance must not wait for it to start. False: advertise nothing (said once).
  bool open_producer() {
    for (;;) {
      try {
        if (!kafka::list_topics(client).contains(options.topic)) {
          log::warn("topic {} does not exist: interactive queries will not be routed to this instance (create it, "
                    "see README)",
                    options.topic);
          return false;
        }
        break;
      } catch (const std::exception& e) {
        log::warn("cannot list topics yet ({}): advertising for queries later", e.what());
      }
      std::unique_lock lock(mutex);
      if (wake.wait_for(lock, std::chrono::seconds(2), [&] { return stopping; })) return false;
    }
    kafka::ClientProperties props = client;
    props.set("linger.ms", "0");
    producer = std::make_unique<kafka::KafkaProducer>(props);
    return true;
  }

  void run() {
    pthread_setname_np(pthread_self(), "cf-advertise");
    if (!open_producer()) return;
    SystemClock clock;
    std::unique_lock lock(mutex);
    while (!stopping) {
      lock.unlock();
      try {
        const EpochMillis now = clock.now_ms();
        InstanceClaim claim = current(now);
        const bool changed = claim.running != last.running || claim.restoring != last.restoring;
        if (changed || last_published == 0 || now - last_published >= options.refresh_ms) publish(claim);
        producer->poll();
      } catch (const std::exception& e) {
        log::warn("advertising {} for queries failed: {}", options.address, e.what());
      }
      lock.lock();
      wake.wait_for(lock, std::chrono::milliseconds(options.check_interval_ms), [&] { return stopping; });
    }
  }
};

InstanceAdvertiser::InstanceAdvertiser(const kafka::ClientProperties& client, Options options,
                                       std::function<processor::ThreadStatus()> status)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->status = std::move(status);
  impl_->client = client;
  impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
}

InstanceAdvertiser::~InstanceAdvertiser() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  impl_->thread.join();
  if (!impl_->producer) return;  // never advertised
  try {
    InstanceClaim withdrawn;
    withdrawn.instance = impl_->options.instance.empty() ? impl_->options.address : impl_->options.instance;
    withdrawn.address = impl_->options.address;
    withdrawn.updated_at = SystemClock().now_ms();
    impl_->publish(withdrawn);
    impl_->producer->flush(5'000);
  } catch (const std::exception& e) {
    log::warn("could not withdraw the query claims of {}: {}", impl_->options.address, e.what());
  }
}

}  // namespace couponflow::ops
