#include "processor/stream_thread_internal.h"
#include "state/state_directory.h"

namespace couponflow::processor {

using detail::kBrokerTimeoutMs;

bool StreamThread::exactly_once() const { return config_.guarantee == Guarantee::kExactlyOnceV2; }

std::string StreamThread::transactional_id() const {
  // Stable across restarts of the same instance, so a restarted instance fences the
  // producer of its previous life; unique per state directory, so two instances never
  // fence each other (a path alone is not: every pod of a StatefulSet has the same one).
  // Each thread of an instance has its own producer, so its own id.
  const std::string suffix = thread_suffix().empty() ? "" : "-" + thread_suffix();
  if (!config_.instance_id.empty()) return config_.application_id + "-" + config_.instance_id + suffix;
  return config_.application_id + "-" + context_->state_dir().identity() + suffix;
}

void StreamThread::mirror_transactional_offsets(const std::vector<std::pair<TopicPartition, Offset>>& offsets) {
  // A broker that accepts send_offsets_to_transaction but stores nothing (the embedded
  // broker does exactly that) would make every restart re-read from the beginning. It
  // is found out from an offset this transaction moved (one it left as it was proves
  // nothing: the stored value might be from before); until then, and on such a broker,
  // the offsets are also committed directly (without waiting) after each transaction.
  if (!broker_stores_txn_offsets_) {
    const std::pair<TopicPartition, Offset>* moved = nullptr;
    for (const auto& entry : offsets) {
      auto known = known_committed_.find(entry.first);
      if (known == known_committed_.end() || known->second != entry.second) moved = &entry;
    }
    if (moved != nullptr) {
      try {
        auto stored = main_->committed({moved->first}, kBrokerTimeoutMs);
        auto it = stored.find(moved->first);
        broker_stores_txn_offsets_ = it != stored.end() && it->second == moved->second;
        if (!*broker_stores_txn_offsets_) {
          log::warn("the broker did not store the offsets committed with the transaction; committing them "
                    "directly after each transaction as well");
        }
      } catch (const RetriableError& e) {
        log::warn("could not check the offsets stored with the transaction: {}", e.what());
      }
    }
  }
  if (broker_stores_txn_offsets_ == true) {
    for (const auto& [tp, offset] : offsets) known_committed_[tp] = offset;
    return;
  }
  commit_offsets(offsets, /*only_behind=*/false);
}

void StreamThread::abort_and_redo(const std::string& reason) {
  ++aborts_;
  log::warn("aborting the transaction and redoing its work from the last commit: {}", reason);
  until_done("aborting the transaction", [&] {
    producer_->abort_transaction(kBrokerTimeoutMs);
    return 0;
  });
  positions_in_transaction_ = false;  // they went with it (the stores keep theirs)
  // Every task's work since the last commit was in the aborted transaction: reopen the
  // tasks, so that their stores drop it and their input resumes at the committed offsets.
  std::vector<Partition> partitions;
  for (const auto& [p, slot] : tasks_) partitions.push_back(Partition{p});
  for (auto p : partitions) close_task(p, false);
  open_tasks(partitions, /*already_assigned=*/true);
  producer_->begin_transaction();
}

}  // namespace couponflow::processor
