// num.stream.threads: several stream threads per instance, Kafka Streams' way.

#include <doctest/doctest.h>

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <atomic>
#include <thread>

#include "common/murmur2.h"
#include "ops/fleet.h"
#include "ops/http/http_get.h"
#include "processor/task_directories.h"
#include "tests/support/background_load.h"
#include "tests/support/embedded_cluster.h"
#include "tests/support/fleet_checks.h"

using namespace couponflow;
using namespace couponflow::testing;
using ops::metric_sample;
using processor::TaskDirectories;

TEST_CASE("a task directory a sibling keeps as a standby is handed to the thread assigned the task") {
  TaskDirectories dirs(2);
  const Partition p{4};  // kept warm by thread 0 (4 % 2)
  CHECK_FALSE(dirs.try_acquire_standby(1, p));  // not thread 1's to keep
  REQUIRE(dirs.try_acquire_standby(0, p));
  CHECK_FALSE(dirs.standby_unwanted(0, p));

  // Thread 0 stands for a stream thread's loop: it gives its standby up once wanted.
  std::atomic<bool> released{false};
  std::thread sibling([&] {
    while (!dirs.standby_unwanted(0, p)) std::this_thread::yield();
    released = true;
    dirs.release(0, p);
  });
  const auto before = dirs.generation();
  CHECK(dirs.acquire_active(1, p, [] {}, [] { return false; }));
  sibling.join();
  CHECK(released);
  CHECK(dirs.generation() != before);
  // Active on thread 1: nobody may keep a standby of it, and thread 0 would drop one.
  CHECK_FALSE(dirs.try_acquire_standby(0, p));
  CHECK(dirs.standby_unwanted(0, p));
  dirs.release(1, p);
  CHECK(dirs.try_acquire_standby(0, p));
}

TEST_CASE("two threads each assigned the other's standby do not wait for each other") {
  // Both are inside their rebalance callbacks: each gives its own standby up while it
  // waits (release_own), so both acquisitions complete.
  TaskDirectories dirs(2);
  const Partition even{2}, odd{3};
  REQUIRE(dirs.try_acquire_standby(0, even));
  REQUIRE(dirs.try_acquire_standby(1, odd));
  std::atomic<int> done{0};
  auto assign = [&](int thread, Partition wanted, Partition kept) {
    bool kept_open = true;
    auto release_own = [&] {
      if (kept_open && dirs.standby_unwanted(thread, kept)) {
        dirs.release(thread, kept);
        kept_open = false;
      }
    };
    CHECK(dirs.acquire_active(thread, wanted, release_own, [] { return false; }));
    ++done;
    // Back in its loop, a thread keeps giving way to its sibling (update_standbys).
    while (done < 2) {
      release_own();
      std::this_thread::yield();
    }
  };
  std::thread t0(assign, 0, odd, even);
  std::thread t1(assign, 1, even, odd);
  t0.join();
  t1.join();
}

TEST_CASE("a thread waiting for a directory gives up when told to") {
  TaskDirectories dirs(2);
  REQUIRE(dirs.acquire_active(0, Partition{1}, [] {}, [] { return false; }));
  int asked = 0;
  CHECK_FALSE(dirs.acquire_active(1, Partition{1}, [] {}, [&] { return ++asked > 3; }));
  // The wish is withdrawn: thread 0's task is not asked to leave.
  dirs.release(0, Partition{1});
  CHECK(dirs.try_acquire_standby(1, Partition{1}));
}

namespace {

std::string scrape(prometheus::Registry& registry) { return prometheus::TextSerializer().Serialize(registry.Collect()); }

}  // namespace

TEST_CASE("two instances of two stream threads with standbys share partitions, hand them over, and decide exactly") {
  constexpr int kPartitions = 12;
  EmbeddedCluster cluster(kPartitions);
  TempDir dir;
  std::vector<std::string> coupons;
  for (int c = 0; c < 24; ++c) {
    coupons.push_back(fmt::format("c{}", c));
    cluster.define(coupons.back(), 150);
  }
  int sent = 0;
  auto send = [&](int n) {
    for (int i = 0; i < n; ++i, ++sent) {
      cluster.request(fmt::format("r{}", sent), coupons[sent % coupons.size()], fmt::format("u{}", sent % 700));
    }
    cluster.flush();
  };
  auto config = [&](const std::string& name) {
    auto c = cluster.config(dir.path() / name, name);
    c.num_stream_threads = 2;
    c.num_standby_replicas = 1;
    return c;
  };
  auto registry_a = std::make_shared<prometheus::Registry>();
  auto a = std::make_unique<ProcessorInstance>(cluster.topology(), config("a"), registry_a);
  send(2'000);
  EmbeddedCluster::wait_until_running({a.get()}, kPartitions);
  cluster.wait_until_all_answered();

  // Both threads of `a` run tasks; its gauges are per thread, its readiness one figure.
  std::string metrics;
  for (int i = 0; i < 100; ++i) {
    metrics = scrape(*registry_a);
    if (metric_sample(metrics, "couponflow_ready") == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(metric_sample(metrics, "couponflow_ready") == 1);
  const double t1 = metric_sample(metrics, "couponflow_assigned_partitions{thread=\"StreamThread-1\"}");
  const double t2 = metric_sample(metrics, "couponflow_assigned_partitions{thread=\"StreamThread-2\"}");
  CHECK(t1 > 0);
  CHECK(t2 > 0);
  CHECK(t1 + t2 == kPartitions);
  CHECK(metric_sample(metrics, "couponflow_store_cache_bytes") <= metric_sample(metrics, "couponflow_store_cache_max_bytes"));
  CHECK(a->status().tasks.size() == static_cast<size_t>(kPartitions));

  // A second instance joins: partitions move between instances (and threads); each
  // instance keeps one warm copy of what it does not run.
  auto b = std::make_unique<ProcessorInstance>(cluster.topology(), config("b"));
  send(2'000);
  for (int i = 0;; ++i) {
    const auto sa = a->status(), sb = b->status();
    if (sa.ready() && sb.ready() && !sa.tasks.empty() && !sb.tasks.empty() &&
        sa.tasks.size() + sb.tasks.size() == kPartitions &&
        sa.standbys.size() + sb.standbys.size() == kPartitions) {
      break;
    }
    REQUIRE_MESSAGE(!a->done(), a->error());
    REQUIRE_MESSAGE(!b->done(), b->error());
    REQUIRE_MESSAGE(i < 1200, "not settled: a runs " << sa.tasks.size() << " (" << sa.not_ready_reason()
                                                     << "), keeps " << sa.standbys.size() << "; b runs "
                                                     << sb.tasks.size() << " (" << sb.not_ready_reason()
                                                     << "), keeps " << sb.standbys.size());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const auto sa = a->status(), sb = b->status();
  CHECK(sa.tasks.size() + sb.tasks.size() == kPartitions);
  CHECK(sa.standbys.size() == sb.tasks.size());  // one copy of each other's tasks
  CHECK(sb.standbys.size() == sa.tasks.size());
  cluster.wait_until_all_answered();

  // `a` leaves: `b`'s threads take every task, some from their sibling's standbys.
  a->stop();
  REQUIRE_MESSAGE(a->error().empty(), a->error());
  a.reset();
  send(2'000);
  EmbeddedCluster::wait_until_running({b.get()}, kPartitions);
  cluster.wait_until_all_answered();
  CHECK(b->status().standbys.empty());
  b->stop();
  REQUIRE_MESSAGE(b->error().empty(), b->error());

  const auto report = cluster.verify();
  CHECK_MESSAGE(report.ok(), ops::format_report(report));
  CHECK(report.requests == sent);
}

TEST_CASE("instances of two stream threads under load, one killed and restarted: I1-I5 hold") {
  constexpr int kPartitions = 12;
  COUPONFLOW_EACH_GUARANTEE(guarantee);
  EmbeddedCluster cluster(kPartitions);
  cluster.set_guarantee(guarantee);
  TempDir dir;
  std::vector<std::string> coupons;
  for (int c = 0; c < 24; ++c) {
    coupons.push_back(fmt::format("coupon-{}", c));
    cluster.define(coupons.back(), 100 + 50 * c);
  }
  ops::Fleet fleet(COUPONFLOW_BIN, cluster.bootstrap(), dir.path(),
                   {"-X", "consumer.session.timeout.ms=3000", "-X", "consumer.heartbeat.interval.ms=500", "-X",
                    "num.stream.threads=2", "-X", "num.standby.replicas=1"});
  for (const char* name : {"a", "b"}) fleet.start(name, cluster.guarantee_flags());

  BackgroundLoad load(cluster, coupons, 3000, 11);
  auto pause = [](int seconds) { std::this_thread::sleep_for(std::chrono::seconds(seconds)); };
  pause(6);
  for (int round = 0; round < 2; ++round) {  // b crashes and comes back
    fleet.kill("b");
    pause(4);
    fleet.start("b", cluster.guarantee_flags());
    pause(5);
  }
  check_graceful_stop(fleet, "a");  // a leaves gracefully and comes back
  pause(4);
  fleet.start("a", cluster.guarantee_flags());
  pause(5);
  load.stop();

  cluster.wait_until_all_answered(std::chrono::seconds(120));
  for (const char* name : {"a", "b"}) CHECK_MESSAGE(fleet.running(name), name << " is not running");
  for (const char* name : {"a", "b"}) check_graceful_stop(fleet, name);
  auto report = cluster.verify();
  CHECK_MESSAGE(report.ok(), ops::format_report(report));
  CHECK(report.requests == load.sent());
  check_one_owner_at_a_time(fleet, kPartitions);  // one thread of one instance at a time
}
