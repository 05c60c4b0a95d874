#pragma once
// Opening task stores, one at a time or several tasks' side by side.
//
// Opening a RocksDB store is mostly creating and syncing files (a new database writes
// and fsyncs about a dozen: IDENTITY, MANIFEST, CURRENT, OPTIONS per column family, ...)
// and, for one with local state, warming its cache. A stream thread assigned many
// partitions at once (a start, a failover) opened them one after the other: the 48
// stores of 24 tasks took ~0.5 s here (bench/restore.sh), ~0.25 s on four threads.
// Different stores share nothing but thread-safe parts (RocksDB's block cache and write
// buffer manager, the cache budget), so their opening runs on a few short-lived threads.

#include <memory>
#include <vector>

#include "processor/task.h"

namespace couponflow::processor {

/// The store `spec` of the task of `env`, open and its cache warm (MaterializedStore::
/// warm_up). Thread: any; nothing it opens is shared yet.
/// Errors: FatalError when the store cannot be opened.
std::unique_ptr<state::MaterializedStore> open_task_store(const TaskEnvironment& env, const state::StoreSpec& spec);

/// Every store of `topology` for each task of `envs`, in that order ([task][store]), as
/// Task::begin_restore takes them. Opened by up to `max_threads` threads; with one task,
/// on the caller's. Errors: the first failure, rethrown once every thread has stopped;
/// what was opened is closed again.
std::vector<std::vector<std::unique_ptr<state::MaterializedStore>>> open_task_stores(
    const topology::Topology& topology, const std::vector<TaskEnvironment>& envs, size_t max_threads = 4);

}  // namespace couponflow::processor
