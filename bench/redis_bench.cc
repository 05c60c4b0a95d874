// couponflow_redis_bench: the seeds' Redis approach to first-come-first-served coupons,
// on the same workload as `couponflow_runtime_bench --mode preload`, so that its figures
// sit next to couponflow's (bench/compare_redis.sh).
//
// One Lua script per request, loaded once (SCRIPT LOAD) and called with EVALSHA: the
// seeds' INCR / compare / DECR-on-overflow, plus the per-user dedup the seeds' service
// did, inside the same script so that it is atomic (Redis runs a script alone):
//
//   SISMEMBER users -> already issued: -1
//   INCR count      -> within capacity: SADD users, return the issue number
//                      over capacity:   DECR count, return 0 (sold out)
//
//   --mode sync        --connections N threads, each one request at a time (the seeds'
//                      API server: one blocking call per HTTP request);
//   --mode pipelined   --connections N, each keeping --depth requests in flight.
//
// The redis-server is started and stopped by the caller; this tool flushes it
// (FLUSHALL) first, sends every request once, then reads the counts and sets back and
// checks them against capacity and against the replies. It prints one line:
//   mode=... connections=N depth=D requests=N seconds=X rate=R p50_us=.. p95_us=..
//   p99_us=.. max_us=.. errors=E accepted=A expected_accepted=A check=ok|MISMATCH
// and exits 1 on a MISMATCH. `expected_accepted` is what any correct first-come-first-
// served system decides on this workload whatever the order: per coupon, the smaller of
// its capacity and its number of distinct requesting users (couponflow's count too).

#include <hiredis/hiredis.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "bench/flash_sale_workload.h"

using couponflow::bench::FlashSaleWorkload;

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kIssueScript = R"lua(
if redis.call('sismember', KEYS[2], ARGV[2]) == 1 then return -1 end
local count = redis.call('incr', KEYS[1])
if count <= tonumber(ARGV[1]) then
  redis.call('sadd', KEYS[2], ARGV[2])
  return count
else
  redis.call('decr', KEYS[1])
  return 0
end
)lua";

struct Options {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string mode = "sync";
  int connections = 16;
  int depth = 100;  // pipelined mode only
  int64_t requests = 300'000;
  std::string cdf_file;
};

struct Coupon {
  std::string count_key;  // KEYS[1]: the issued count
  std::string users_key;  // KEYS[2]: the set of users holding it
  std::string capacity;   // ARGV[1], as text: built once, not per request
  int64_t capacity_value = 0;
};

struct Request {
  int coupon = 0;
  std::string user;  // ARGV[2]
};

/// The runtime bench's preload, drawn from the same generator in the same order: 100
/// coupons of capacity 100..999, then requests for a uniform coupon and one of 200,000
/// users.
struct Workload {
  std::vector<Coupon> coupons;
  std::vector<Request> requests;
};

Workload make_workload(int64_t requests) {
  Workload w;
  FlashSaleWorkload workload;
  for (int c = 0; c < FlashSaleWorkload::kCoupons; ++c) {
    const std::string id = FlashSaleWorkload::coupon_id(c);
    const int64_t capacity = workload.capacities()[static_cast<size_t>(c)];
    // One hash tag per coupon: both keys of a script call would share a cluster slot.
    w.coupons.push_back({fmt::format("{{{}}}:count", id), fmt::format("{{{}}}:users", id), std::to_string(capacity),
                         capacity});
  }
  w.requests.reserve(static_cast<size_t>(requests));
  for (int64_t i = 0; i < requests; ++i) {
    auto request = workload.next();
    w.requests.push_back({request.coupon, std::move(request.user_id)});
  }
  return w;
}

/// What a correct FCFS issuer grants on this workload, independent of order.
int64_t expected_accepted(const Workload& w) {
  std::vector<std::set<std::string_view>> users(w.coupons.size());
  for (const auto& r : w.requests) users[static_cast<size_t>(r.coupon)].insert(r.user);
  int64_t total = 0;
  for (size_t c = 0; c < w.coupons.size(); ++c) {
    total += std::min<int64_t>(w.coupons[c].capacity_value, static_cast<int64_t>(users[c].size()));
  }
  return total;
}

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using Connection = std::unique_ptr<redisContext, ContextDeleter>;

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

/// A connected context, or null (with the reason on stderr).
Connection connect(const Options& o) {
  Connection c(redisConnect(o.host.c_str(), o.port));
  if (!c || c->err) {
    std::fprintf(stderr, "redis_bench: cannot connect to %s:%d: %s\n", o.host.c_str(), o.port,
                 c ? c->errstr : "out of memory");
    return nullptr;
  }
  return c;
}

Reply command(redisContext* c, const char* format, const std::string& arg = {}) {
  return Reply(static_cast<redisReply*>(arg.empty() ? redisCommand(c, format) : redisCommand(c, format, arg.c_str())));
}

/// What one connection's thread measured.
struct Tally {
  std::vector<int64_t> latency_us;
  int64_t errors = 0;
  int64_t accepted = 0;
};

/// Hands out request indices in order to every connection, so the requests reach
/// Redis in roughly the generated order whatever the number of connections.
class RequestQueue {
 public:
  explicit RequestQueue(int64_t size) : size_(size) {}
  /// The next index, or -1 when all are taken.
  int64_t take() {
    const int64_t i = next_.fetch_add(1);
    return i < size_ ? i : -1;
  }
  /// Takes every remaining index (a failed connection counts them as errors).
  int64_t drain() {
    int64_t n = 0;
    while (take() >= 0) ++n;
    return n;
  }

 private:
  const int64_t size_;
  std::atomic<int64_t> next_{0};
};

class IssueCall {
 public:
  IssueCall(const Workload& w, const std::string& sha) : workload_(w), sha_(sha) {}
  /// Appends EVALSHA for request `i` to the connection's output buffer.
  int append(redisContext* c, int64_t i) const {
    const auto& r = workload_.requests[static_cast<size_t>(i)];
    const auto& coupon = workload_.coupons[static_cast<size_t>(r.coupon)];
    const char* argv[] = {"EVALSHA", sha_.c_str(), "2", coupon.count_key.c_str(), coupon.users_key.c_str(),
                          coupon.capacity.c_str(), r.user.c_str()};
    const size_t lengths[] = {7, sha_.size(), 1, coupon.count_key.size(), coupon.users_key.size(),
                              coupon.capacity.size(), r.user.size()};
    return redisAppendCommandArgv(c, 7, argv, lengths);
  }

 private:
  const Workload& workload_;
  const std::string& sha_;
};

/// Counts one reply into `tally`.
void count_reply(const redisReply* reply, Tally& tally) {
  if (reply == nullptr || reply->type != REDIS_REPLY_INTEGER) {
    ++tally.errors;
  } else if (reply->integer > 0) {
    ++tally.accepted;
  }
}

int64_t micros_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t).count();
}

/// One request at a time: send, wait for the reply, next.
Tally run_sync(const Options& o, const IssueCall& call, RequestQueue& queue) {
  Tally tally;
  Connection c = connect(o);
  if (!c) {
    tally.errors += queue.drain();
    return tally;
  }
  for (int64_t i = queue.take(); i >= 0; i = queue.take()) {
    const auto sent = Clock::now();
    void* raw = nullptr;
    if (call.append(c.get(), i) != REDIS_OK || redisGetReply(c.get(), &raw) != REDIS_OK) {
      // The context is unusable after an I/O error: this request and the rest of this
      // connection's share are errors (the others go on).
      tally.errors += 1 + queue.drain();
      break;
    }
    Reply reply(static_cast<redisReply*>(raw));
    tally.latency_us.push_back(micros_since(sent));
    count_reply(reply.get(), tally);
  }
  return tally;
}

/// A sliding window of `depth` requests in flight: whenever a reply arrives, the next
/// request is appended. hiredis writes the appended commands when it needs to read.
Tally run_pipelined(const Options& o, const IssueCall& call, RequestQueue& queue) {
  Tally tally;
  Connection c = connect(o);
  if (!c) {
    tally.errors += queue.drain();
    return tally;
  }
  std::deque<Clock::time_point> in_flight;  // send times, in reply order
  auto fill = [&] {
    while (static_cast<int>(in_flight.size()) < o.depth) {
      const int64_t i = queue.take();
      if (i < 0) return true;
      if (call.append(c.get(), i) != REDIS_OK) {
        ++tally.errors;
        return false;
      }
      in_flight.push_back(Clock::now());
    }
    return true;
  };
  bool healthy = fill();
  while (healthy && !in_flight.empty()) {
    void* raw = nullptr;
    if (redisGetReply(c.get(), &raw) != REDIS_OK) {
      healthy = false;
      break;
    }
    Reply reply(static_cast<redisReply*>(raw));
    tally.latency_us.push_back(micros_since(in_flight.front()));
    in_flight.pop_front();
    count_reply(reply.get(), tally);
    healthy = fill();
  }
  if (!healthy) tally.errors += static_cast<int64_t>(in_flight.size()) + queue.drain();
  return tally;
}

int64_t percentile(const std::vector<int64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  const auto i = static_cast<size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

/// The sorted latencies as a CDF for gnuplot: `latency_ms<TAB>fraction`, 200 evenly
/// spaced fractions plus the far tail (the same format as couponflow_latency_bench's).
void write_cdf(const std::string& file, const std::vector<int64_t>& sorted_us) {
  std::ofstream out(file);
  out << "latency_ms\tfraction\n";
  std::vector<double> fractions;
  for (int i = 0; i <= 200; ++i) fractions.push_back(i / 200.0);
  for (double tail : {0.991, 0.993, 0.995, 0.997, 0.998, 0.999, 0.9995, 0.9999}) fractions.push_back(tail);
  std::sort(fractions.begin(), fractions.end());
  for (double f : fractions) out << fmt::format("{:.3f}\t{:.4f}\n", percentile(sorted_us, f) / 1000.0, f);
}

/// Reads every coupon's count and user set back and compares them with capacity and
/// with the replies. Returns the problems found (empty: consistent).
std::vector<std::string> check_redis(redisContext* c, const Workload& w, int64_t accepted) {
  std::vector<std::string> problems;
  int64_t total = 0;
  for (const auto& coupon : w.coupons) {
    auto count_reply = command(c, "GET %s", coupon.count_key);
    auto users_reply = command(c, "SCARD %s", coupon.users_key);
    if (!count_reply || !users_reply) {
      problems.push_back("cannot read the counts back");
      return problems;
    }
    const int64_t count = count_reply->type == REDIS_REPLY_STRING ? std::stoll(count_reply->str) : 0;
    const int64_t users = users_reply->type == REDIS_REPLY_INTEGER ? users_reply->integer : -1;
    if (count > coupon.capacity_value) {
      problems.push_back(fmt::format("{} count {} > capacity {}", coupon.count_key, count, coupon.capacity_value));
    }
    if (users != count) problems.push_back(fmt::format("{} count {} but {} users", coupon.count_key, count, users));
    total += count;
  }
  if (total != accepted) problems.push_back(fmt::format("replies accepted {} but counts sum to {}", accepted, total));
  return problems;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"the seeds' Redis approach (Lua INCR/DECR with per-user dedup) on couponflow's bench workload"};
  app.add_option("--host", o.host);
  app.add_option("--port", o.port)->required();
  app.add_option("--mode", o.mode)->check(CLI::IsMember({"sync", "pipelined"}));
  app.add_option("--connections", o.connections)->check(CLI::Range(1, 256));
  app.add_option("--depth", o.depth, "pipelined mode: requests in flight per connection")->check(CLI::Range(1, 100000));
  app.add_option("--requests", o.requests)->check(CLI::Range(int64_t{1}, int64_t{100'000'000}));
  app.add_option("--cdf", o.cdf_file, "write the latency CDF here (TSV: latency_ms, fraction)");
  CLI11_PARSE(app, argc, argv);
  if (o.mode == "sync") o.depth = 1;

  // Everything a request needs is built before the clock starts.
  const Workload workload = make_workload(o.requests);
  const int64_t expected = expected_accepted(workload);

  Connection control = connect(o);
  if (!control) return 1;
  auto flushed = command(control.get(), "FLUSHALL");
  auto loaded = command(control.get(), "SCRIPT LOAD %s", kIssueScript);
  if (!flushed || flushed->type == REDIS_REPLY_ERROR || !loaded || loaded->type != REDIS_REPLY_STRING) {
    std::fprintf(stderr, "redis_bench: cannot prepare the server: %s\n", control->errstr);
    return 1;
  }
  const std::string sha = loaded->str;
  const IssueCall call(workload, sha);

  RequestQueue queue(o.requests);
  std::vector<Tally> tallies(static_cast<size_t>(o.connections));
  const auto start = Clock::now();
  {
    std::vector<std::jthread> threads;
    for (auto& tally : tallies) {
      threads.emplace_back([&] { tally = o.mode == "sync" ? run_sync(o, call, queue) : run_pipelined(o, call, queue); });
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();

  Tally all;
  for (auto& t : tallies) {
    all.latency_us.insert(all.latency_us.end(), t.latency_us.begin(), t.latency_us.end());
    all.errors += t.errors;
    all.accepted += t.accepted;
  }
  std::sort(all.latency_us.begin(), all.latency_us.end());
  if (!o.cdf_file.empty()) write_cdf(o.cdf_file, all.latency_us);

  auto problems = check_redis(control.get(), workload, all.accepted);
  // With errors the replies cannot match the workload's prediction, but the stored
  // counts must still be consistent with the replies that did arrive.
  if (all.errors == 0 && all.accepted != expected) {
    problems.push_back(fmt::format("accepted {} but a correct issuer accepts {}", all.accepted, expected));
  }
  for (const auto& p : problems) std::fprintf(stderr, "redis_bench: MISMATCH: %s\n", p.c_str());

  const auto answered = static_cast<double>(all.latency_us.size());
  std::printf("mode=%s connections=%d depth=%d requests=%lld seconds=%.3f rate=%.0f p50_us=%lld p95_us=%lld "
              "p99_us=%lld max_us=%lld errors=%lld accepted=%lld expected_accepted=%lld check=%s\n",
              o.mode.c_str(), o.connections, o.depth, static_cast<long long>(o.requests), seconds,
              answered / seconds, static_cast<long long>(percentile(all.latency_us, 0.50)),
              static_cast<long long>(percentile(all.latency_us, 0.95)),
              static_cast<long long>(percentile(all.latency_us, 0.99)),
              static_cast<long long>(all.latency_us.empty() ? 0 : all.latency_us.back()),
              static_cast<long long>(all.errors), static_cast<long long>(all.accepted),
              static_cast<long long>(expected), problems.empty() ? "ok" : "MISMATCH");
  return problems.empty() ? 0 : 1;
}
