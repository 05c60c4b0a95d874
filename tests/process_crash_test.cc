// Real `couponflow process` instances, SIGKILLed: what a crash does to a deployment.

#include <doctest/doctest.h>

#include <csignal>
#include <fstream>

#include "ops/child_process.h"
#include "ops/instance_events_reader.h"
#include "tests/support/embedded_cluster.h"

using namespace couponflow;
using namespace couponflow::testing;

namespace {

/// A `couponflow process` child writing its log to `<run>.log` and its events to
/// `<run>.events`.
std::unique_ptr<ops::ChildProcess> start_process(const EmbeddedCluster& cluster, const std::filesystem::path& state,
                                                 const std::filesystem::path& run,
                                                 std::vector<std::string> extra = {}) {
  std::vector<std::string> argv{COUPONFLOW_BIN, "process", "--bootstrap", cluster.bootstrap(), "--state-dir",
                                state.string(), "--instance-id", "crash-test", "-X",
                                "consumer.session.timeout.ms=3000", "-X", "consumer.heartbeat.interval.ms=500",
                                "--metrics-listen", "127.0.0.1:0", "--events-file", run.string() + ".events"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return std::make_unique<ops::ChildProcess>(argv, run.string() + ".log");
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Waits until `tasks` tasks of the run have started running.
void wait_until_running(const std::filesystem::path& run, int tasks) {
  ops::InstanceEventsFile events(run.string() + ".events");
  int running = 0;
  for (int i = 0; i < 600; ++i) {
    running = 0;
    for (const auto& e : events.read()) running += e.to == processor::TaskState::kRunning ? 1 : 0;
    if (running >= tasks) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  FAIL("only " << running << " of " << tasks << " tasks ran; log:\n" << read_file(run.string() + ".log"));
}

}  // namespace

TEST_CASE("a SIGKILLed instance restarts from its checkpoint, restoring only the changelog tail") {
  COUPONFLOW_EACH_GUARANTEE(guarantee);
  EmbeddedCluster cluster(2);
  cluster.set_guarantee(guarantee);
  TempDir dir;
  const auto state = dir.path() / "state";
  cluster.define("c", 100'000);
  auto send = [&](int from, int to) {
    for (int i = from; i < to; ++i) cluster.request(fmt::format("r{}", i), "c", fmt::format("u{}", i));
    cluster.flush();
  };

  // 1. 3000 requests, then a graceful stop: the stores are checkpointed at the end.
  auto first = start_process(cluster, state, dir.path() / "first", cluster.guarantee_flags());
  wait_until_running(dir.path() / "first", 2);
  send(0, 3000);
  cluster.wait_for_answers(3000);
  CHECK(first->terminate(std::chrono::seconds(30)) == 0);

  // 2. 3000 more, decided but never committed or checkpointed (the commit interval
  //    is longer than the test), then SIGKILL.
  auto second_flags = cluster.guarantee_flags();
  second_flags.insert(second_flags.end(), {"-X", "commit.interval.ms=600000"});
  auto second = start_process(cluster, state, dir.path() / "second", second_flags);
  wait_until_running(dir.path() / "second", 2);
  send(3000, 6000);
  cluster.wait_for_answers(6000);
  CHECK(second->kill() == 128 + SIGKILL);

  // 3. The restart restores exactly the 3000 holdings written after the checkpoint,
  //    and replays the 3000 uncommitted requests with identical decisions.
  auto third = start_process(cluster, state, dir.path() / "third", cluster.guarantee_flags());
  wait_until_running(dir.path() / "third", 2);
  cluster.wait_for_answers(9000);
  CHECK(third->terminate(std::chrono::seconds(30)) == 0);

  int64_t restored = 0;
  for (const auto& e : ops::read_instance_events(dir.path() / "third.events")) {
    if (e.kind != processor::InstanceEventKind::kRestoreStarted || e.store != "issued") continue;
    CHECK(e.from_offset > 0);  // resumed from the checkpoint, not from the start
    restored += e.to_offset - e.from_offset;
  }
  CHECK(restored == 3000);

  auto report = cluster.verify();
  CHECK_MESSAGE(report.ok(), ops::format_report(report));
  CHECK(report.duplicate_results == 3000);  // the replays, identical (verify checks)
  CHECK(report.coupons.at("c").accepted == 6000);
}
