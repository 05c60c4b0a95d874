// The events file of an instance (processor/instance_events.h): what programs read
// instead of the log. Lines written from several threads at once stay whole, every field
// reads back as written, and a line still being written is not read half.

#include <doctest/doctest.h>

#include <fstream>
#include <thread>
#include <vector>

#include "common/errors.h"
#include "ops/instance_events_reader.h"
#include "processor/instance_events.h"
#include "tests/support/temp_dir.h"

using namespace couponflow;
using namespace couponflow::processor;

TEST_CASE("instance events from several threads read back whole, field for field") {
  testing::TempDir dir;
  const auto path = dir.path() / "events";
  constexpr int kThreads = 4, kRounds = 300;
  {
    InstanceEvents events(path);
    events.listening(InstanceEvents::kStatusEndpoints, "127.0.0.1:4242");
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&events, t] {
        for (int i = 0; i < kRounds; ++i) {
          const TaskId task{Partition{t}};
          events.task_state(task, TaskState::kRestoring, TaskState::kRunning);
          // A store name JSON must escape, and one byte that is not UTF-8.
          events.restore_started(task, "is\"sued\\\n\xff", Offset{i}, Offset{i + 10});
          events.task_restored(task, i, 2 * i, 3 * i);
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  const auto read = ops::read_instance_events(path);
  REQUIRE(read.size() == 1 + 3 * kThreads * kRounds);
  CHECK(read[0].kind == InstanceEventKind::kListening);
  CHECK(read[0].what == "status");
  CHECK(read[0].address == "127.0.0.1:4242");
  CHECK(read[0].time_ms > 1'700'000'000'000);
  std::vector<int> next_round(kThreads, 0);
  for (size_t i = 1; i < read.size(); ++i) {
    const auto& e = read[i];
    REQUIRE(e.partition >= 0);
    REQUIRE(e.partition < kThreads);
    const int round = next_round[e.partition];
    if (e.kind == InstanceEventKind::kTaskState) {
      CHECK(e.from == TaskState::kRestoring);
      CHECK(e.to == TaskState::kRunning);
    } else if (e.kind == InstanceEventKind::kRestoreStarted) {
      CHECK(e.store == "is\"sued\\\n\xEF\xBF\xBD");  // the stray byte became U+FFFD
      CHECK(e.from_offset == round);
      CHECK(e.to_offset == round + 10);
    } else {
      REQUIRE(e.kind == InstanceEventKind::kTaskRestored);
      CHECK(e.records == round);
      CHECK(e.bytes == 2 * round);
      CHECK(e.millis == 3 * round);
      ++next_round[e.partition];  // each thread's events stay in its order
    }
  }
  for (int t = 0; t < kThreads; ++t) CHECK(next_round[t] == kRounds);
}

TEST_CASE("a line still being written is read once its newline arrives; lines that are not events are skipped") {
  testing::TempDir dir;
  const auto path = dir.path() / "events";
  CHECK(ops::read_instance_events(path).empty());  // not written yet
  {
    std::ofstream out(path);
    out << R"({"time_ms":1,"event":"task_state","task":"0_1","partition":1,"from":"CREATED","to":"RESTORING"})" << '\n'
        << "not json\n"
        << R"({"time_ms":2,"partition":1})" << '\n'  // no event
        << R"({"time_ms":3,"event":"task_state","task":"0_1","partition":1,"from":"RESTORING",)";
  }
  auto read = ops::read_instance_events(path);
  REQUIRE(read.size() == 1);
  CHECK(read[0].to == TaskState::kRestoring);
  {
    std::ofstream out(path, std::ios::app);
    out << R"("to":"RUNNING"})" << '\n';
  }
  read = ops::read_instance_events(path);
  REQUIRE(read.size() == 2);
  CHECK(read[1].time_ms == 3);
  CHECK(read[1].from == TaskState::kRestoring);
  CHECK(read[1].to == TaskState::kRunning);
}

TEST_CASE("an events file followed as it grows reads each line once; an event or state it does not know is skipped") {
  testing::TempDir dir;
  const auto path = dir.path() / "events";
  const std::string first =
      R"({"time_ms":1,"event":"task_state","task":"0_1","partition":1,"from":"CREATED","to":"RESTORING"})";
  { std::ofstream(path) << first << '\n'; }
  ops::InstanceEventsFile file(path);
  REQUIRE(file.read().size() == 1);
  REQUIRE(file.read().size() == 1);  // nothing new: nothing added twice
  // Overwrite the line already read with one of the same length that is no event: a
  // reader that read the file again from its start would now lose the event.
  { std::fstream(path, std::ios::in | std::ios::out) << std::string(first.size(), 'x'); }
  {
    std::ofstream out(path, std::ios::app);
    out << R"({"time_ms":2,"event":"rebalanced","generation":7})" << '\n'  // added by a later version
        << R"({"time_ms":3,"event":"task_state","task":"0_1","partition":1,"from":"RESTORING","to":"PAUSED"})" << '\n';
  }
  const auto& read = file.read();
  REQUIRE(read.size() == 2);
  CHECK(read[0].time_ms == 1);
  CHECK(read[0].to == TaskState::kRestoring);
  CHECK(read[1].time_ms == 3);
  CHECK(read[1].from == TaskState::kRestoring);
  CHECK_FALSE(read[1].to.has_value());  // a state this reader does not know
  CHECK(ops::read_instance_events(path).size() == 1);  // from the start: the overwritten line is gone

  // A line still being written is read once, when its newline arrives.
  const std::string fifth =
      R"({"time_ms":5,"event":"task_restored","task":"0_1","partition":1,"records":7,"bytes":70,"millis":1})";
  { std::ofstream(path, std::ios::app) << fifth.substr(0, 40); }
  REQUIRE(file.read().size() == 2);
  { std::ofstream(path, std::ios::app) << fifth.substr(40) << '\n'; }
  REQUIRE(file.read().size() == 3);
  CHECK(file.read()[2].kind == InstanceEventKind::kTaskRestored);
  CHECK(file.read()[2].records == 7);
  CHECK(file.read()[2].bytes == 70);

  // A file replaced by a shorter one is read again from its start.
  { std::ofstream(path) << R"({"time_ms":4,"event":"listening","what":"status","address":"127.0.0.1:1"})" << '\n'; }
  REQUIRE(file.read().size() == 1);
  CHECK(file.read()[0].kind == InstanceEventKind::kListening);
  CHECK(file.read()[0].address == "127.0.0.1:1");
}

TEST_CASE("every event kind and task state reads back from its name; other names read as none") {
  for (auto kind : {InstanceEventKind::kListening, InstanceEventKind::kTaskState, InstanceEventKind::kRestoreStarted,
                    InstanceEventKind::kTaskRestored}) {
    CHECK(instance_event_kind_from_string(to_string(kind)) == kind);
  }
  for (auto state : {TaskState::kCreated, TaskState::kRestoring, TaskState::kRunning, TaskState::kStandby,
                     TaskState::kClosed}) {
    CHECK(task_state_from_string(to_string(state)) == state);
  }
  CHECK_FALSE(instance_event_kind_from_string("Listening").has_value());
  CHECK_FALSE(task_state_from_string("running").has_value());
  CHECK_FALSE(task_state_from_string("?").has_value());
}

TEST_CASE("an events file that cannot be opened is a clear error") {
  CHECK_THROWS_WITH_AS(InstanceEvents("/nonexistent-dir/events"), doctest::Contains("cannot open events file"),
                       FatalError);
}
