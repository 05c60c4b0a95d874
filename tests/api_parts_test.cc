// The parts of the api and of interactive queries, one at a time and without a broker:
// the query mailbox, the decision memory, claims, the directory and URL decoding.

#include <doctest/doctest.h>

#include <poll.h>

// <utility> first: Boost 1.74's asio/awaitable.hpp uses std::exchange without including it.
#include <utility>

#include <atomic>
#include <boost/asio.hpp>
#include <thread>

#include "ops/api/decision_memory.h"
#include "ops/api/instance_claim.h"
#include "ops/api/instance_directory.h"
#include "ops/http/http_client_pool.h"
#include "ops/http/http_server.h"
#include "ops/http/url.h"
#include "processor/interactive_query.h"

using namespace couponflow;

TEST_CASE("a query is run by the mailbox's owner thread, and its outcome reaches the caller") {
  processor::QueryMailbox mailbox;
  std::atomic<bool> stop{false};
  std::thread owner([&] {
    while (!stop) {
      mailbox.serve([](Partition p, const processor::StoreQuery&) {
        return p.value == 1 ? processor::QueryOutcome::kAnswered : processor::QueryOutcome::kRestoring;
      });
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  const processor::StoreQuery query = [](processor::QueryableStores&) {};
  CHECK(mailbox.submit(Partition{1}, query, 5'000) == processor::QueryOutcome::kAnswered);
  CHECK(mailbox.submit(Partition{2}, query, 5'000) == processor::QueryOutcome::kRestoring);
  stop = true;
  owner.join();
}

TEST_CASE("a query that times out is withdrawn and never runs later; a closed mailbox refuses at once") {
  processor::QueryMailbox mailbox;
  bool ran = false;
  const processor::StoreQuery query = [](processor::QueryableStores&) {};
  // Nobody serves: the caller gives up after its timeout.
  CHECK(mailbox.submit(Partition{0}, query, 50) == processor::QueryOutcome::kTimedOut);
  mailbox.serve([&](Partition, const processor::StoreQuery&) {
    ran = true;
    return processor::QueryOutcome::kAnswered;
  });
  CHECK_FALSE(ran);
  // The eventfd woke the owner for it, and serving drained it.
  pollfd fd{mailbox.wakeup_fd(), POLLIN, 0};
  CHECK(::poll(&fd, 1, 0) == 0);

  mailbox.close();
  const auto start = std::chrono::steady_clock::now();
  CHECK(mailbox.submit(Partition{0}, query, 5'000) == processor::QueryOutcome::kNotOwner);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
}

TEST_CASE("closing the mailbox answers the queries waiting in it") {
  processor::QueryMailbox mailbox;
  const processor::StoreQuery query = [](processor::QueryableStores&) {};
  std::atomic<int> outcome{-1};
  std::thread caller([&] { outcome = static_cast<int>(mailbox.submit(Partition{3}, query, 10'000)); });
  pollfd fd{mailbox.wakeup_fd(), POLLIN, 0};
  REQUIRE(::poll(&fd, 1, 5'000) == 1);  // the query is in
  mailbox.close();
  caller.join();
  CHECK(outcome == static_cast<int>(processor::QueryOutcome::kNotOwner));
}

TEST_CASE("the decision memory keeps the last N distinct requestIds and replaces a decision seen again") {
  ops::DecisionMemory memory(3);
  CHECK(memory.remember("r1", "a") == 1);
  memory.remember("r2", "b");
  memory.remember("r3", "c");
  memory.remember("r2", "b2");  // replayed: replaced, no new place
  CHECK(memory.size() == 3);
  CHECK(memory.find("r2") == "b2");
  CHECK(memory.remember("r4", "d") == 3);  // what the gauge is set to
  CHECK_FALSE(memory.find("r1").has_value());  // the oldest went
  CHECK(memory.find("r3") == "c");
  CHECK(memory.find("r4") == "d");
  CHECK(memory.forgotten() == 1);
}

TEST_CASE("a wait completes once: at once if known, when the decision arrives, or with nothing on expiry") {
  ops::DecisionMemory memory(10);
  memory.remember("known", "k");
  std::vector<std::optional<std::string>> got;
  auto record = [&](std::optional<std::string> r) { got.push_back(std::move(r)); };

  memory.wait("known", record);
  REQUIRE(got.size() == 1);
  CHECK(got[0] == "k");

  auto pending = memory.wait("later", record);
  CHECK(memory.waiting() == 1);
  memory.remember("later", "l");
  REQUIRE(got.size() == 2);
  CHECK(got[1] == "l");
  memory.expire(pending);  // already completed: nothing more
  CHECK(got.size() == 2);

  auto expiring = memory.wait("never", record);
  memory.expire(expiring);
  REQUIRE(got.size() == 3);
  CHECK_FALSE(got[2].has_value());
  memory.remember("never", "too late");
  CHECK(got.size() == 3);
  CHECK(memory.waiting() == 0);
}

TEST_CASE("claims round-trip, and anything that is not a claim is refused without throwing") {
  ops::InstanceClaim claim{"a", "127.0.0.1:9464", 1700, {{0, 10}, {3, 20}}, {5, 7}};
  std::string error;
  const auto back = ops::parse_claim(ops::encode_claim(claim), error);
  REQUIRE_MESSAGE(back.has_value(), error);
  CHECK(back->instance == "a");
  CHECK(back->address == "127.0.0.1:9464");
  CHECK(back->updated_at == 1700);
  CHECK(back->running == claim.running);
  CHECK(back->restoring == claim.restoring);

  ops::InstanceClaim empty{"b", "h:1", 1, {}, {}};
  const auto withdrawn = ops::parse_claim(ops::encode_claim(empty), error);
  REQUIRE(withdrawn.has_value());
  CHECK(withdrawn->running.empty());

  for (const char* bad : {"", "{", "[]", R"({"instance":"a"})", R"({"address":"h:1","running":"x@1"})",
                          R"({"address":"h:1","running":"-1@1"})", R"({"address":"h:1","restoring":"1,,2"})",
                          R"({"address":"h:1","running":"1@"})", R"({"address":5})"}) {
    CHECK_MESSAGE(!ops::parse_claim(bad, error).has_value(), bad);
  }
  const std::string deep = R"({"address":"h:1","x":)" + std::string(100'000, '[') + "}";
  CHECK_FALSE(ops::parse_claim(deep, error).has_value());
}

TEST_CASE("the directory routes a partition to its newest running claim first, and forgets a withdrawn one") {
  ops::InstanceDirectory directory;
  auto claim = [](std::string name, std::vector<ops::InstanceClaim::Running> running, std::vector<int32_t> restoring) {
    return ops::encode_claim({name, name + ":1", 1, std::move(running), std::move(restoring)});
  };
  directory.apply("old", claim("old", {{0, 100}, {1, 100}}, {}));
  directory.apply("new", claim("new", {{0, 200}}, {2}));
  auto route = directory.route(0);
  CHECK(route.running == std::vector<std::string>{"new:1", "old:1"});
  CHECK_FALSE(route.restoring);
  CHECK(directory.route(1).running == std::vector<std::string>{"old:1"});
  route = directory.route(2);
  CHECK(route.running.empty());
  CHECK(route.restoring);

  directory.apply("old", claim("old", {}, {}));  // a clean stop
  CHECK(directory.route(0).running == std::vector<std::string>{"new:1"});
  CHECK(directory.route(1).running.empty());
  directory.apply("new", std::nullopt);  // a tombstone
  CHECK(directory.route(0).running.empty());
  directory.apply("junk", std::string_view("not json"));  // skipped
  CHECK(directory.instances().size() == 1);
}

TEST_CASE("URL paths and query parameters are percent-decoded; malformed escapes and NUL are refused") {
  CHECK(ops::percent_decode("a%2Fb%20c") == "a/b c");
  CHECK(ops::percent_decode("%e4%bd%a0") == "\xe4\xbd\xa0");
  CHECK(ops::percent_decode("a+b") == "a+b");
  for (const char* bad : {"%", "%4", "%zz", "a%00b", "%G1"}) CHECK_FALSE(ops::percent_decode(bad).has_value());
  CHECK(ops::percent_encode("a/b c~") == "a%2Fb%20c~");
  CHECK(ops::percent_decode(ops::percent_encode("쿠폰/1?x")) == "쿠폰/1?x");

  CHECK(ops::path_segments("/api/coupons/c%2F1") == std::vector<std::string>{"api", "coupons", "c/1"});
  CHECK(ops::path_segments("/a//b") == std::vector<std::string>{"a", "", "b"});
  CHECK(ops::path_segments("/") == std::vector<std::string>{""});
  CHECK_FALSE(ops::path_segments("no-slash").has_value());
  CHECK_FALSE(ops::path_segments("/a/%zz").has_value());

  CHECK(ops::query_parameter("wait=100&x=1", "wait") == "100");
  CHECK(ops::query_parameter("x=1&wait=5", "wait") == "5");
  CHECK(ops::query_parameter("wait", "wait") == "");
  CHECK_FALSE(ops::query_parameter("waiting=1", "wait").has_value());
  CHECK_FALSE(ops::query_parameter("", "wait").has_value());
}

TEST_CASE("pooled keep-alive GETs: answers, a connection the server closed is replaced, a silent server times out") {
  std::mutex held_mutex;
  std::vector<ops::HttpRespond> held;  // answers of /silent, given only at the end
  ops::HttpServer server(
      "127.0.0.1:0",
      [&](ops::HttpRequest&& request, ops::HttpRespond respond) {
        if (request.path == "/silent") {
          std::lock_guard lock(held_mutex);
          held.push_back(std::move(respond));
          return;
        }
        respond(ops::HttpResponse::json(request.path == "/missing" ? 404 : 200, "{\"path\":\"" + request.path + "\"}"));
      },
      ops::HttpServerOptions{.what = "test", .idle_timeout_ms = 200});
  const std::string address = fmt::format("127.0.0.1:{}", server.port());
  ops::HttpClientPool pool;
  for (int i = 0; i < 5; ++i) {
    const auto a = pool.get(address, "/x", 2'000);
    CHECK(a.status == 200);
    CHECK(a.body == R"({"path":"/x"})");
    CHECK(a.header("content-type") == "application/json");
  }
  CHECK(pool.get(address, "/missing", 2'000).status == 404);
  // The server closes idle connections after 200 ms: the pooled one is dead by now.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK(pool.get(address, "/after-idle", 2'000).status == 200);

  const auto start = std::chrono::steady_clock::now();
  CHECK(pool.get(address, "/silent", 300).status == 0);
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK_MESSAGE(took >= std::chrono::milliseconds(250), "took " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  CHECK(took < std::chrono::milliseconds(2'000));
  CHECK(pool.get(address, "/x", 2'000).status == 200);  // the pool is still usable
  CHECK(pool.get("127.0.0.1:1", "/x", 1'000).status == 0);  // nobody listens
  for (auto& respond : held) respond(ops::HttpResponse::json(200, "{}"));
  server.stop();
}

TEST_CASE("a respond callback that outlives its server does nothing; one dropped unanswered closes its connection") {
  std::mutex kept_mutex;
  std::vector<ops::HttpRespond> kept;
  auto server = std::make_unique<ops::HttpServer>(
      "127.0.0.1:0",
      [&](ops::HttpRequest&& request, ops::HttpRespond respond) {
        if (request.path == "/drop") return;  // never answered, and let go of at once
        std::lock_guard lock(kept_mutex);
        kept.push_back(std::move(respond));
      },
      ops::HttpServerOptions{.what = "test"});
  const std::string address = fmt::format("127.0.0.1:{}", server->port());
  ops::HttpClientPool pool;

  // The server closes the connection instead of keeping it until it stops.
  const auto start = std::chrono::steady_clock::now();
  CHECK(pool.get(address, "/drop", 30'000).status == 0);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));

  // Two connections wait for answers that come only after the server has stopped, and
  // after it is destroyed. Before the server owned them, the last callback owned the
  // suspended connection, and its destruction used the freed io_context (ASan:
  // heap-use-after-free).
  CHECK(pool.get(address, "/kept", 200).status == 0);
  CHECK(pool.get(address, "/kept", 200).status == 0);
  // The handler ran when each request arrived, before the client gave up; wait for it
  // all the same rather than trust the timing.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    {
      std::lock_guard lock(kept_mutex);
      if (kept.size() == 2 || std::chrono::steady_clock::now() > deadline) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  REQUIRE(kept.size() == 2);
  server->stop();
  kept[0](ops::HttpResponse::json(200, "{}"));
  server.reset();
  kept[1](ops::HttpResponse::json(200, "{}"));
  kept[0](ops::HttpResponse::json(200, "{}"));  // a second answer is ignored as well
  kept.clear();
}

TEST_CASE("connections beyond the server's limit are answered 503 and closed; freed places are taken again") {
  ops::HttpServer server(
      "127.0.0.1:0", [](ops::HttpRequest&&, ops::HttpRespond respond) { respond(ops::HttpResponse::json(200, "{}")); },
      ops::HttpServerOptions{.what = "test", .max_connections = 2});
  const std::string address = fmt::format("127.0.0.1:{}", server.port());
  boost::asio::io_context io;
  auto open_idle = [&] {
    auto s = std::make_unique<boost::asio::ip::tcp::socket>(io);
    s->connect({boost::asio::ip::make_address("127.0.0.1"), server.port()});
    return s;
  };
  auto first = open_idle();
  auto second = open_idle();  // both idle: they hold their places
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (server.connections() < 2) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const auto refused = ops::http_get(address, "/x", 2'000);
  CHECK(refused.status == 503);
  CHECK(refused.header("Retry-After") == "1");
  CHECK(refused.body == R"({"error":"too many connections at once"})");

  first.reset();  // closed: its place frees once the server sees it go
  second.reset();
  while (server.connections() > 0) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CHECK(ops::http_get(address, "/x", 2'000).status == 200);
  server.stop();
}
