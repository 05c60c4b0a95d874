#include <poll.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include "processor/testing/mock_clients.h"
#include "processor/testing/mock_cluster.h"
#include "common/errors.h"

using namespace couponflow;
using namespace couponflow::processor::testing;

namespace {
bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}
/// What the consumer's eventfd has counted since it was last drained (0: nothing).
uint64_t wake_ups(int fd) {
  uint64_t count = 0;
  return ::read(fd, &count, sizeof count) == sizeof count ? count : 0;
}
}  // namespace

TEST_CASE("a mock consumer is woken once per burst of appends, and again after each poll") {
  MockCluster cluster;
  cluster.create_topic("t", 1);
  const TopicPartition tp{"t", Partition{0}};
  MockConsumer consumer(cluster, "reader", nullptr);
  consumer.assign({{tp, Offset{0}}});
  std::vector<Record> out;
  consumer.poll(out, 1000, 0);  // drains and re-arms
  REQUIRE_FALSE(readable(consumer.wakeup_fd()));

  for (int i = 0; i < 100; ++i) cluster.append("t", Partition{0}, std::nullopt, "v", 0);
  REQUIRE(readable(consumer.wakeup_fd()));
  // One write for the burst: the driver's per-record cost of waking is gone.
  CHECK(wake_ups(consumer.wakeup_fd()) == 1);

  // Drained by hand above, still pending for the cluster: the poll re-arms it.
  out.clear();
  CHECK(consumer.poll(out, 1000, 0) == 100);
  CHECK_FALSE(readable(consumer.wakeup_fd()));

  // No wake-up is lost after a poll: the next append wakes the consumer again.
  cluster.append("t", Partition{0}, std::nullopt, "w", 0);
  CHECK(readable(consumer.wakeup_fd()));
  out.clear();
  CHECK(consumer.poll(out, 1000, 0) == 1);
  CHECK_FALSE(readable(consumer.wakeup_fd()));
  cluster.set_down(true);  // any change of the cluster wakes it too
  CHECK(readable(consumer.wakeup_fd()));
}

TEST_CASE("deleting records moves the log start; offsets go on; readers below it fail as the runtime's") {
  MockCluster cluster;
  cluster.create_topic("t", 1);
  const TopicPartition tp{"t", Partition{0}};
  for (int i = 0; i < 5; ++i) cluster.append("t", Partition{0}, std::nullopt, std::to_string(i), 0);

  cluster.delete_records(tp, Offset{3});
  CHECK(cluster.watermarks(tp).low == Offset{3});
  CHECK(cluster.watermarks(tp).high == Offset{5});
  const auto left = cluster.records(tp);
  REQUIRE(left.size() == 2);
  CHECK(left[0].offset == Offset{3});
  CHECK(*left[0].value == "3");
  CHECK(*cluster.record_at(tp, Offset{4}).value == "4");
  CHECK_THROWS_AS(cluster.record_at(tp, Offset{2}), std::out_of_range);
  // Offsets are never reused; deleting backwards does nothing; past the end stops at it.
  CHECK(cluster.append("t", Partition{0}, std::nullopt, "5", 0) == Offset{5});
  cluster.delete_records(tp, Offset{1});
  CHECK(cluster.watermarks(tp).low == Offset{3});

  // From the log start on, a consumer reads what is left.
  MockConsumer consumer(cluster, "reader", nullptr);
  consumer.assign({{tp, Offset{3}}});
  std::vector<Record> out;
  CHECK(consumer.poll(out, 1000, 0) == 3);
  CHECK(out.front().offset == Offset{3});
  CHECK(cluster.for_each_record(tp, Offset{4}, [](const LoggedRecord&) {}) == Offset{6});

  cluster.delete_records(tp, Offset{100});
  CHECK(cluster.watermarks(tp).low == Offset{6});
  CHECK(cluster.records(tp).empty());
  CHECK(cluster.append("t", Partition{0}, std::nullopt, "6", 0) == Offset{6});

  // Below it, records this reader never read are gone: a fatal error, never a skip.
  MockConsumer late(cluster, "late", nullptr);
  late.assign({{tp, Offset{2}}});
  out.clear();
  CHECK_THROWS_WITH_AS(late.poll(out, 1000, 0), doctest::Contains("offset out of range"), FatalError);
  CHECK(out.empty());
  CHECK_THROWS_AS(cluster.for_each_record(tp, Offset{5}, [](const LoggedRecord&) {}), FatalError);
}
