#include <poll.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include "processor/testing/mock_clients.h"
#include "processor/testing/mock_cluster.h"

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
