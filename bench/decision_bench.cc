// couponflow_bench: decisions per second of the coupon job, against the floor of a bare
// RocksDB loop over the same requests.
//
//   --mode topology  the real coupon topology (Task, store caches, RocksDB stores,
//                    changelog, commits) through the in-process driver;
//   --mode rocksdb   one RocksDB Get + Put per request, nothing else.
//   --mode parse     the request reader alone, with and without its plain pass
//                    (plain_json_object.h), alternating: CPU ns per request of each.
//
// Both modes draw the same requests from the same seeded generator, and both print one
// machine-readable line (bench/run.sh parses it):
//   mode=topology requests=1000000 seconds=X.XX rate=NNNNNN cpu_us=X.XXX sys_us=X.XXX faults=N accepted=...
// where cpu_us and sys_us are per request and faults counts the whole timed window.

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <ctime>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "bench/process_usage.h"
#include "common/log.h"
#include "processor/testing/topology_test_driver.h"
#include "state/materialized_store.h"
#include "state/store_spec.h"
#include "topology/coupon/catalog.h"
#include "topology/coupon/coupon_topology.h"
#include "topology/coupon/issued_state.h"
#include "topology/coupon/json_object.h"
#include "topology/coupon/request.h"

namespace couponflow::bench {
namespace {

struct Workload {
  size_t requests = 1'000'000;
  int32_t coupons = 100;
  int32_t users = 200'000;
  uint64_t seed = 42;
  double hot_share = 0.10;       // share of requests for coupon 0
  double duplicate_share = 0.05;  // share of requests that resend an earlier one
};

struct Coupon {
  std::string id;
  int64_t capacity = 0;
};

struct Request {
  uint32_t request_no = 0;  // the requestId is "req-<request_no>"; a resend repeats it
  uint32_t coupon = 0;      // index into the coupons
  uint32_t user = 0;
};

struct Requests {
  std::vector<Coupon> coupons;
  std::vector<Request> requests;  // in arrival order
};

std::string request_id(const Request& r) { return fmt::format("req-{}", r.request_no); }
std::string user_id(const Request& r) { return fmt::format("user-{}", r.user); }

/// The same requests for every mode and run: everything derives from the seed.
/// (std::uniform_int_distribution is implementation-defined, so the stream is only
/// reproducible for one standard library; that is all the comparison needs.)
Requests generate(const Workload& w) {
  std::mt19937_64 rng(w.seed);
  Requests out;
  for (int32_t c = 0; c < w.coupons; ++c) {
    // The hot coupon is big but still sells out early: most of its traffic is rejected,
    // which is the first-come-first-served case worth measuring.
    const int64_t capacity = c == 0 ? 5000 : std::uniform_int_distribution<int64_t>(100, 5000)(rng);
    out.coupons.push_back({fmt::format("coupon-{:03}", c), capacity});
  }
  std::uniform_real_distribution<double> share(0.0, 1.0);
  std::uniform_int_distribution<uint32_t> cold(1, static_cast<uint32_t>(w.coupons) - 1);
  std::uniform_int_distribution<uint32_t> user(0, static_cast<uint32_t>(w.users) - 1);
  out.requests.reserve(w.requests);
  uint32_t next_no = 0;
  for (size_t i = 0; i < w.requests; ++i) {
    if (!out.requests.empty() && share(rng) < w.duplicate_share) {
      // A client retry: byte-for-byte the same request, arriving again later.
      std::uniform_int_distribution<size_t> earlier(0, out.requests.size() - 1);
      out.requests.push_back(out.requests[earlier(rng)]);
      continue;
    }
    const uint32_t coupon = share(rng) < w.hot_share ? 0 : cold(rng);
    out.requests.push_back({next_no++, coupon, user(rng)});
  }
  return out;
}

/// What the topology must decide, from a plain in-memory model of the contract's rules
/// (no catalog windows here, so only replay / ALREADY_ISSUED / SOLD_OUT apply). Lets
/// the topology run check itself: a fast wrong answer is not a result.
struct Expected {
  uint64_t accepted = 0;
  uint64_t rejected = 0;
  uint64_t holdings = 0;  // new holdings granted = issued-store changelog records
};

Expected expected_outcome(const Requests& in) {
  Expected e;
  std::vector<int64_t> issued(in.coupons.size(), 0);
  std::unordered_map<uint64_t, uint32_t> holder_request;  // (coupon, user) -> request_no
  for (const Request& r : in.requests) {
    const uint64_t key = (uint64_t{r.coupon} << 32) | r.user;
    if (auto it = holder_request.find(key); it != holder_request.end()) {
      ++(it->second == r.request_no ? e.accepted : e.rejected);
    } else if (issued[r.coupon] >= in.coupons[r.coupon].capacity) {
      ++e.rejected;
    } else {
      ++issued[r.coupon];
      holder_request.emplace(key, r.request_no);
      ++e.accepted;
      ++e.holdings;
    }
  }
  return e;
}

/// A fresh directory under /tmp, removed however the run ends.
class ScratchDir {
 public:
  explicit ScratchDir(std::string_view mode)
      : path_(std::filesystem::temp_directory_path() /
              fmt::format("couponflow-bench-{}-{}", mode, ::getpid())) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

using Clock = std::chrono::steady_clock;

/// The timed part of a mode: its wall time, and the process's CPU time and page faults
/// over it (bench/process_usage.h).
class TimedWindow {
 public:
  TimedWindow() : start_(Clock::now()), usage_(ProcessUsage::now()) {}

  /// "seconds=... rate=... cpu_us=... sys_us=... faults=..." for `units` units of work
  /// (the CPU times per unit, the faults of the whole window).
  std::string summary(size_t units) const {
    const double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    const ProcessUsage used = ProcessUsage::now().since(usage_);
    const auto n = static_cast<double>(units);
    return fmt::format("seconds={:.2f} rate={:.0f} cpu_us={:.3f} sys_us={:.3f} faults={}", seconds, n / seconds,
                       used.cpu_seconds * 1e6 / n, used.system_seconds * 1e6 / n, used.faults);
  }

 private:
  Clock::time_point start_;
  ProcessUsage usage_;
};

int run_topology(const Workload& w, size_t batch, int32_t partitions, bool per_record_metrics) {
  const Requests in = generate(w);
  const Expected expected = expected_outcome(in);

  // The values exist before the clock starts: producing JSON is the client's cost.
  std::vector<std::string> values;
  values.reserve(in.requests.size());
  for (const Request& r : in.requests) {
    values.push_back(coupon::request_json(request_id(r), in.coupons[r.coupon].id, user_id(r),
                                          std::nullopt));
  }

  const coupon::CouponOptions options;
  const coupon::CouponTopics& topics = options.topics;
  const topology::Topology topology = coupon::build_coupon_topology(options);
  ScratchDir dir("topology");
  processor::testing::TopologyTestDriver::Options driver_options;
  driver_options.state_dir = dir.path();
  driver_options.partitions = partitions;
  driver_options.application_id = "couponflow-bench";
  driver_options.per_record_metrics = per_record_metrics;
  // The harness keeps no record it need not: results and changelog records are made
  // and sent as the runtime makes and sends them, then only counted (the runtime hands
  // them to librdkafka, which frees them once delivered); requests are dropped once
  // committed, as a consumer drops what it processed. A driver holding every record
  // measures its own memory: kept requests cost 88k page faults and 1.33x the time.
  const std::string changelog =
      state::changelog_topic(driver_options.application_id, coupon::issued_store_spec());
  driver_options.discard_topics = {topics.issued, topics.rejected, changelog};
  driver_options.purge_committed_topics = {topics.issuance};

  processor::testing::TopologyTestDriver driver(topology, driver_options);
  const EpochMillis catalog_at = driver.clock().now_ms();
  for (const Coupon& c : in.coupons) {
    driver.append(topics.catalog, c.id, coupon::catalog_json(c.id, {c.capacity, {}, {}}),
                  catalog_at);
  }
  driver.process_all();
  driver.commit();

  // Batches stand in for consumer polls; the commit after each one is the runtime's
  // periodic commit (every 100 ms), i.e. a store checkpoint per ~10k records at 100k/s.
  const TimedWindow window;
  for (size_t i = 0; i < in.requests.size();) {
    const size_t end = std::min(i + batch, in.requests.size());
    for (; i < end; ++i) {
      const std::string& coupon_id = in.coupons[in.requests[i].coupon].id;
      driver.append(topics.issuance, coupon_id, values[i],
                    catalog_at + 1 + static_cast<EpochMillis>(i));
    }
    driver.process_all();
    driver.commit();
  }
  const std::string timed = window.summary(in.requests.size());

  const uint64_t accepted = driver.record_count(topics.issued);
  const uint64_t rejected = driver.record_count(topics.rejected);
  const uint64_t dlq = driver.record_count(topics.dlq);
  // Every holding is in a store, and has a changelog record (the changelog also holds
  // the input position recorded at commits, so it has more).
  uint64_t holdings = 0;
  for (int32_t p = 0; p < partitions; ++p) holdings += driver.store(Partition{p}, "issued").snapshot().size();
  const uint64_t changelog_records = driver.record_count(changelog);
  const bool ok = accepted == expected.accepted && rejected == expected.rejected && dlq == 0 &&
                  holdings == expected.holdings && changelog_records >= holdings;
  fmt::print(
      "mode=topology requests={} {} accepted={} rejected={} dlq={} "
      "holdings={} changelog={} partitions={} batch={} metrics={} check={}\n",
      in.requests.size(), timed, accepted, rejected, dlq, holdings, changelog_records, partitions, batch,
      per_record_metrics ? "on" : "off", ok ? "ok" : "MISMATCH");
  if (!ok) {
    fmt::print(stderr, "expected accepted={} rejected={} dlq=0 holdings={} (changelog at least as many)\n",
               expected.accepted, expected.rejected, expected.holdings);
    return 1;
  }
  return 0;
}

void check(const rocksdb::Status& s, std::string_view what) {
  if (!s.ok()) throw std::runtime_error(fmt::format("RocksDB {}: {}", what, s.ToString()));
}

int run_rocksdb(const Workload& w) {
  const Requests in = generate(w);

  // Keys are built before the clock starts so the loop is storage and nothing else.
  std::vector<std::string> keys;
  std::vector<std::string> ids;
  keys.reserve(in.requests.size());
  ids.reserve(in.requests.size());
  for (const Request& r : in.requests) {
    std::string key = in.coupons[r.coupon].id;
    key += '\0';
    key += user_id(r);
    keys.push_back(std::move(key));
    ids.push_back(request_id(r));
  }

  ScratchDir dir("rocksdb");
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  check(rocksdb::DB::Open(options, dir.path().string(), &raw), "open");
  std::unique_ptr<rocksdb::DB> db(raw);

  const rocksdb::ReadOptions read_options;
  rocksdb::WriteOptions write_options;
  write_options.sync = false;  // WAL on, not fsynced: what the engine's stores do
  std::vector<int64_t> issued(in.coupons.size(), 0);
  std::string found;
  std::string value;
  uint64_t hits = 0;

  const TimedWindow window;
  for (size_t i = 0; i < keys.size(); ++i) {
    const rocksdb::Status s = db->Get(read_options, keys[i], &found);
    if (s.ok()) {
      ++hits;
    } else if (!s.IsNotFound()) {
      check(s, "get");
    }
    const int64_t issue_no = ++issued[in.requests[i].coupon];
    value.resize(sizeof issue_no);
    std::memcpy(value.data(), &issue_no, sizeof issue_no);
    value += ids[i];
    check(db->Put(write_options, keys[i], value), "put");
  }
  const std::string timed = window.summary(keys.size());

  check(db->Close(), "close");
  fmt::print("mode=rocksdb requests={} {} get_hits={} puts={}\n", keys.size(), timed, hits, keys.size());
  return 0;
}

/// CPU time of the calling thread: the parse mode runs on one thread, and a noisy
/// neighbour then lengthens wall time but not this.
double thread_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

int run_parse(const Workload& w, int rounds) {
  const Requests in = generate(w);
  // A working set that stays in cache, as a record just consumed does: the parser's own
  // cost, not that of streaming 100 MB of values from memory.
  std::vector<std::string> values;
  for (size_t i = 0; i < std::min<size_t>(in.requests.size(), 4096); ++i) {
    const Request& r = in.requests[i];
    values.push_back(coupon::request_json(request_id(r), in.coupons[r.coupon].id, user_id(r), 1767225600000));
  }
  coupon::JsonObjectReader with_plain;
  coupon::JsonObjectReader simdjson_only(coupon::kDefaultMaxJsonBytes, false);
  coupon::RequestFields fields = coupon::request_fields();
  auto ns_per_request = [&](coupon::JsonObjectReader& reader) {
    uint64_t bytes = 0;
    const double start = thread_cpu_seconds();
    for (size_t i = 0; i < in.requests.size(); ++i) {
      if (reader.read(values[i % values.size()], fields)) throw std::runtime_error("parse: a generated request did not parse");
      bytes += fields[1].text.size();  // keeps the reads from being optimised away
    }
    const double seconds = thread_cpu_seconds() - start;
    if (bytes == 0) throw std::runtime_error("parse: no coupon ids read");
    return seconds * 1e9 / static_cast<double>(in.requests.size());
  };
  // Alternating rounds, so that both readers see the same machine; medians reported.
  std::vector<double> plain_ns, simdjson_ns;
  for (int i = 0; i < rounds; ++i) {
    plain_ns.push_back(ns_per_request(with_plain));
    simdjson_ns.push_back(ns_per_request(simdjson_only));
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  fmt::print("mode=parse reads={} rounds={} plain_first_ns={:.1f} simdjson_only_ns={:.1f} ratio={:.2f}\n",
             in.requests.size(), rounds, median(plain_ns), median(simdjson_ns), median(plain_ns) / median(simdjson_ns));
  return 0;
}

}  // namespace
}  // namespace couponflow::bench

int main(int argc, char** argv) {
  using namespace couponflow;
  bench::Workload w;
  std::string mode;
  size_t batch = 10'000;
  int32_t partitions = 12;
  CLI::App app{"couponflow_bench: coupon decisions/s through the topology, and the bare RocksDB floor."};
  app.add_option("--mode", mode, "topology | rocksdb | parse")
      ->required()->check(CLI::IsMember({"topology", "rocksdb", "parse"}));
  app.add_option("--requests", w.requests, "requests to decide")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--coupons", w.coupons, "coupons in the catalog (coupon 0 is hot, the rest cold)")
      ->capture_default_str()->check(CLI::Range(2, 1'000'000));
  app.add_option("--users", w.users, "distinct users")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--seed", w.seed, "generator seed")->capture_default_str();
  app.add_option("--batch", batch, "topology: records per process_all + commit")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--partitions", partitions, "topology: partitions (tasks)")
      ->capture_default_str()->check(CLI::Range(1, 1024));
  std::string metrics = "on";
  app.add_option("--metrics", metrics, "topology: per-record metrics (latency histograms, counts) on or off")
      ->capture_default_str()->check(CLI::IsMember({"on", "off"}));
  int rounds = 5;
  app.add_option("--rounds", rounds, "parse: rounds of each reader (alternating)")
      ->capture_default_str()->check(CLI::Range(1, 1000));
  CLI11_PARSE(app, argc, argv);

  // Task lifecycle lines would only clutter the one line a run is meant to print.
  log::set_min_level(log::Level::kWarn);
  try {
    if (mode == "topology") return bench::run_topology(w, batch, partitions, metrics == "on");
    if (mode == "parse") return bench::run_parse(w, rounds);
    return bench::run_rocksdb(w);
  } catch (const std::exception& e) {
    fmt::print(stderr, "couponflow_bench: {}\n", e.what());
    return 1;
  }
}
