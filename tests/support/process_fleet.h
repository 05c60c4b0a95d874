#pragma once
// Real `couponflow process` instances as child processes of a test, with their logs,
// and the ownership history those logs tell.

#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ops/child_process.h"

namespace couponflow::testing {

/// One partition's RUNNING period on one instance, in wall-clock ms.
struct Ownership {
  std::string instance;
  int partition;
  int64_t from_ms;
  int64_t to_ms;  // INT64_MAX: still running
};

class ProcessFleet {
 public:
  ProcessFleet(std::string bootstrap, std::filesystem::path dir) : bootstrap_(std::move(bootstrap)), dir_(std::move(dir)) {}

  /// Starts (or restarts) instance `name`, keeping its state directory.
  void start(const std::string& name, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{COUPONFLOW_BIN, "process", "--bootstrap", bootstrap_, "--state-dir",
                                  (dir_ / ("state-" + name)).string(), "--instance-id", name, "-X",
                                  "consumer.session.timeout.ms=3000", "-X", "consumer.heartbeat.interval.ms=500"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const auto log = dir_ / fmt::format("{}-{}.log", name, ++runs_[name]);
    logs_.push_back({name, log});
    processes_[name] = std::make_unique<ops::ChildProcess>(argv, log);
  }
  /// SIGKILL: no commit, no leave; the instance's end of ownership is now.
  void kill(const std::string& name) {
    processes_.at(name)->kill();
    kills_[logs_for(name).back()] = now_ms();
  }
  /// SIGTERM and wait: returns the exit code.
  int stop(const std::string& name) {
    auto status = processes_.at(name)->terminate(std::chrono::seconds(30));
    REQUIRE_MESSAGE(status.has_value(), name << " did not stop within 30 s");
    return *status;
  }
  bool running(const std::string& name) { return processes_.contains(name) && !processes_.at(name)->poll(); }

  /// Every RUNNING period of every partition, from the logs (and kill times).
  std::vector<Ownership> ownership() const {
    std::vector<Ownership> out;
    for (const auto& [name, log] : logs_) {
      std::map<int, int64_t> open;
      std::ifstream in(log);
      for (std::string line; std::getline(in, line);) {
        const auto pos = line.find("] task 0_");
        if (pos == std::string::npos) continue;
        const int p = std::atoi(line.c_str() + pos + 9);
        const int64_t t = parse_time(line);
        if (line.find("RESTORING -> RUNNING") != std::string::npos) open[p] = t;
        if (line.find("RUNNING -> CLOSED") != std::string::npos && open.contains(p)) {
          out.push_back({name, p, open[p], t});
          open.erase(p);
        }
      }
      auto killed = kills_.find(log);
      for (const auto& [p, from] : open) {
        out.push_back({name, p, from, killed != kills_.end() ? killed->second : INT64_MAX});
      }
    }
    return out;
  }

  static int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

 private:
  std::vector<std::filesystem::path> logs_for(const std::string& name) const {
    std::vector<std::filesystem::path> out;
    for (const auto& [n, log] : logs_) {
      if (n == name) out.push_back(log);
    }
    return out;
  }
  /// Log lines start with an ISO-8601 UTC time with milliseconds.
  static int64_t parse_time(const std::string& line) {
    std::tm tm{};
    int ms = 0;
    std::sscanf(line.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                &tm.tm_sec, &ms);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
  }

  std::string bootstrap_;
  std::filesystem::path dir_;
  std::map<std::string, std::unique_ptr<ops::ChildProcess>> processes_;
  std::vector<std::pair<std::string, std::filesystem::path>> logs_;
  std::map<std::string, int> runs_;
  std::map<std::filesystem::path, int64_t> kills_;
};

}  // namespace couponflow::testing
