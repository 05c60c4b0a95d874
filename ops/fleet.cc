#include "ops/fleet.h"

#include <algorithm>
#include <deque>
#include <fstream>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "common/errors.h"

namespace couponflow::ops {
namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Fleet::Fleet(std::string executable, std::string bootstrap, std::filesystem::path dir,
             std::vector<std::string> common_args)
    : executable_(std::move(executable)),
      bootstrap_(std::move(bootstrap)),
      dir_(std::move(dir)),
      common_args_(std::move(common_args)) {
  std::filesystem::create_directories(dir_);
}

Fleet::~Fleet() = default;  // each ChildProcess kills and reaps what still runs

void Fleet::start(const std::string& name, const std::vector<std::string>& extra) {
  if (running(name)) throw FatalError("instance " + name + " is already running");
  std::vector<std::string> argv{executable_, "process", "--bootstrap", bootstrap_, "--state-dir",
                                state_dir(name).string(), "--instance-id", name};
  argv.insert(argv.end(), common_args_.begin(), common_args_.end());
  argv.insert(argv.end(), extra.begin(), extra.end());
  if (std::find(argv.begin(), argv.end(), "--metrics-listen") == argv.end()) {
    // Instances share the host: each takes a free port, found in its events.
    argv.insert(argv.end(), {"--metrics-listen", "127.0.0.1:0"});
  }
  int run = 1;
  for (const auto& r : runs_) run += r.name == name ? 1 : 0;
  const auto log = dir_ / fmt::format("{}-{}.log", name, run);
  // What the fleet reports (ownership, restores, the status address) comes from here;
  // the log is for people.
  const auto events = dir_ / fmt::format("{}-{}.events", name, run);
  argv.insert(argv.end(), {"--events-file", events.string()});
  runs_.push_back({name, log, InstanceEventsFile(events), std::nullopt});
  processes_[name] = std::make_unique<ChildProcess>(argv, log);
}

std::optional<std::string> Fleet::metrics_address(const std::string& name) const {
  for (auto r = runs_.rbegin(); r != runs_.rend(); ++r) {
    if (r->name != name) continue;
    for (const auto& e : r->events.read()) {
      if (e.kind == processor::InstanceEventKind::kListening && e.what == processor::InstanceEvents::kStatusEndpoints) {
        return e.address;
      }
    }
    return std::nullopt;
  }
  return std::nullopt;
}

std::optional<int> Fleet::stop(const std::string& name, std::chrono::milliseconds timeout) {
  return processes_.at(name)->terminate(timeout);
}

void Fleet::kill(const std::string& name) {
  processes_.at(name)->kill();
  for (auto r = runs_.rbegin(); r != runs_.rend(); ++r) {
    if (r->name == name) {
      r->killed_ms = now_ms();
      break;
    }
  }
}

bool Fleet::running(const std::string& name) {
  auto it = processes_.find(name);
  return it != processes_.end() && !it->second->poll();
}

void Fleet::wipe_state(const std::string& name) {
  if (running(name)) throw FatalError("cannot wipe the state of running instance " + name);
  std::filesystem::remove_all(state_dir(name));
}

std::filesystem::path Fleet::current_log(const std::string& name) const {
  for (auto r = runs_.rbegin(); r != runs_.rend(); ++r) {
    if (r->name == name) return r->log;
  }
  return {};
}

std::string Fleet::log_tail(const std::string& name, size_t lines) const {
  std::ifstream in(current_log(name));
  std::deque<std::string> tail;
  for (std::string line; std::getline(in, line);) {
    tail.push_back(std::move(line));
    if (tail.size() > lines) tail.pop_front();
  }
  std::string out;
  for (const auto& line : tail) out += line + '\n';
  return out;
}

std::vector<std::string> Fleet::names() const {
  std::vector<std::string> out;
  for (const auto& [name, p] : processes_) out.push_back(name);
  return out;
}

std::vector<Ownership> Fleet::ownership() const {
  std::vector<Ownership> out;
  for (const auto& run : runs_) {
    std::map<int, int64_t> open;
    for (const auto& e : run.events.read()) {
      if (e.kind != processor::InstanceEventKind::kTaskState) continue;
      if (e.to == processor::TaskState::kRunning) open[e.partition] = e.time_ms;
      if (e.from == processor::TaskState::kRunning && open.contains(e.partition)) {
        out.push_back({run.name, e.partition, open[e.partition], e.time_ms});
        open.erase(e.partition);
      }
    }
    for (const auto& [p, from] : open) out.push_back({run.name, p, from, run.killed_ms.value_or(INT64_MAX)});
  }
  return out;
}

std::map<std::string, std::vector<int>> Fleet::running_partitions() const {
  std::map<std::string, std::vector<int>> out;
  for (const auto& o : ownership()) {
    if (o.to_ms == INT64_MAX) out[o.instance].push_back(o.partition);
  }
  return out;
}

std::vector<RestoreStat> Fleet::restores() const {
  std::vector<RestoreStat> out;
  for (const auto& run : runs_) {
    for (const auto& e : run.events.read()) {
      if (e.kind == processor::InstanceEventKind::kTaskRestored) {
        out.push_back({run.name, e.partition, e.records, e.bytes, static_cast<double>(e.millis) / 1000});
      }
    }
  }
  return out;
}

bool Fleet::wait_until_settled(int partitions, std::chrono::milliseconds timeout, std::chrono::milliseconds stable,
                               const std::atomic<bool>* stop) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last;
  auto since = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() < deadline) {
    if (stop != nullptr && stop->load()) return false;
    const auto now_running = running_partitions();
    std::map<int, int> owners;
    std::string signature;
    size_t live = 0;
    bool everyone_works = true;
    for (const auto& name : names()) {
      if (!running(name)) continue;
      ++live;
      auto it = now_running.find(name);
      everyone_works = everyone_works && it != now_running.end() && !it->second.empty();
      if (it == now_running.end()) continue;
      for (int p : it->second) {
        ++owners[p];
        signature += fmt::format("{}:{} ", name, p);
      }
    }
    bool settled = static_cast<int>(owners.size()) == partitions &&
                   (everyone_works || static_cast<int>(live) > partitions);
    for (const auto& [p, n] : owners) settled = settled && n == 1;
    if (signature != last) {
      last = signature;
      since = std::chrono::steady_clock::now();
    }
    if (settled && std::chrono::steady_clock::now() - since >= stable) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

}  // namespace couponflow::ops
