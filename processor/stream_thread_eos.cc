#include "processor/stream_thread_internal.h"

#include <filesystem>

#include "processor/kafka/kafka_producer.h"

namespace couponflow::processor {

using detail::kBrokerTimeoutMs;

bool StreamThread::exactly_once() const { return config_.guarantee == Guarantee::kExactlyOnceV2; }

std::string StreamThread::transactional_id() const {
  // Stable across restarts of the same instance, so a restarted instance fences the
  // producer of its previous life.
  if (!config_.instance_id.empty()) return config_.application_id + "-" + config_.instance_id;
  const auto dir = std::filesystem::absolute(config_.state_dir).string();
  return fmt::format("{}-{:08x}", config_.application_id, static_cast<uint32_t>(std::hash<std::string>{}(dir)));
}

bool StreamThread::mirror_transactional_offsets(const std::vector<std::pair<TopicPartition, Offset>>& offsets) {
  // A broker that accepts send_offsets_to_transaction but stores nothing (the embedded
  // broker does exactly that) would make every restart re-read from the beginning.
  // Checked once after the first transaction; if so, offsets are also committed
  // directly after each transaction commit. Returns whether the offsets are stored.
  if (!offsets_checked_ && !offsets.empty()) {
    offsets_checked_ = true;
    try {
      auto stored = main_->committed({offsets.front().first}, kBrokerTimeoutMs);
      auto it = stored.find(offsets.front().first);
      mirror_offsets_ = it == stored.end() || it->second != offsets.front().second;
    } catch (const RetriableError& e) {
      offsets_checked_ = false;  // ask again after the next transaction
      log::warn("could not check the offsets stored with the transaction: {}", e.what());
      return false;
    }
    if (mirror_offsets_) {
      log::warn("the broker did not store the offsets committed with the transaction; committing them directly "
                "after each transaction as well");
    }
  }
  if (!mirror_offsets_) return true;
  try {
    main_->commit(offsets);
    return true;
  } catch (const RetriableError& e) {
    log::warn("direct offset commit after the transaction failed, checkpoint postponed: {}", e.what());
    return false;
  }
}

void StreamThread::abort_and_redo(const std::string& reason) {
  ++aborts_;
  log::warn("aborting the transaction and redoing its work from the last commit: {}", reason);
  producer_->abort_transaction(kBrokerTimeoutMs);
  // Every task's work since the last commit was in the aborted transaction: reopen the
  // tasks, so that their stores drop it and their input resumes at the committed offsets.
  std::vector<Partition> partitions;
  for (const auto& [p, slot] : tasks_) partitions.push_back(Partition{p});
  for (auto p : partitions) close_task(p, false);
  open_tasks(partitions, /*already_assigned=*/true);
  producer_->begin_transaction();
}

}  // namespace couponflow::processor
