#include <doctest/doctest.h>

#include "processor/partition_group.h"

using namespace couponflow;
using namespace couponflow::processor;

namespace {
Record at(int64_t offset, EpochMillis ts) {
  Record r;
  r.offset = Offset{offset};
  r.timestamp = ts;
  return r;
}
using Kind = PartitionGroup::Choice::Kind;
}  // namespace

TEST_CASE("the merge picks the smallest timestamp, and a table source on ties") {
  PartitionGroup group({false, true});  // source 0: stream, source 1: table
  group.add(0, at(0, 20));
  group.add(0, at(1, 30));
  group.add(1, at(0, 20));
  group.add(1, at(1, 25));
  auto caught_up = [](size_t) { return SourceProgress::kCaughtUp; };
  std::vector<std::pair<size_t, int64_t>> order;
  for (auto c = group.next(caught_up, false); c.kind == Kind::kReady; c = group.next(caught_up, false)) {
    order.emplace_back(c.source, group.pop(c.source).offset.value);
  }
  CHECK(order == std::vector<std::pair<size_t, int64_t>>{{1, 0}, {0, 0}, {1, 1}, {0, 1}});
  CHECK(group.next(caught_up, false).kind == Kind::kEmpty);
}

TEST_CASE("an empty source that may still deliver an older record holds the merge back") {
  PartitionGroup group({false, true});
  group.add(0, at(0, 100));
  for (auto lag : {SourceProgress::kBehind, SourceProgress::kUnknown}) {
    auto progress = [&](size_t s) { return s == 1 ? lag : SourceProgress::kCaughtUp; };
    CHECK(group.next(progress, false).kind == Kind::kWaiting);
    // Enforced (max.task.idle.ms expired): the lagging source no longer holds it back.
    auto forced = group.next(progress, true);
    CHECK(forced.kind == Kind::kReady);
    CHECK(forced.source == 0);
  }
  auto caught_up = [](size_t) { return SourceProgress::kCaughtUp; };
  CHECK(group.next(caught_up, false).kind == Kind::kReady);
}
