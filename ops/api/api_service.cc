#include "ops/api/api_service.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <mutex>
#include <random>
#include <set>

#include "common/clock.h"
#include "common/errors.h"
#include "common/json_string.h"
#include "common/log.h"
#include "common/murmur2.h"
#include "common/parse_number.h"
#include "ops/api/decision_memory.h"
#include "ops/api/instance_directory.h"
#include "ops/api/instance_queries.h"
#include "ops/api/live_page.h"
#include "ops/api/topic_tail.h"
#include "ops/http/http_client_pool.h"
#include "ops/http/http_server.h"
#include "ops/http/status_server.h"
#include "ops/http/url.h"
#include "processor/kafka/acknowledging_producer.h"
#include "processor/kafka/topic_reader.h"
#include "topology/coupon/catalog.h"
#include "topology/coupon/json_object.h"
#include "topology/coupon/request.h"
#include "topology/coupon/result.h"

namespace couponflow::ops {

namespace {
constexpr int kMaxWaitMs = 30'000;
constexpr int64_t kPartitionRefreshMs = 30'000;

HttpResponse with_retry_after(HttpResponse r) {
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

HttpResponse method_not_allowed(std::string_view allowed) {
  HttpResponse r = HttpResponse::error(405, fmt::format("this path accepts {} only", allowed));
  r.headers.emplace_back("Allow", std::string(allowed));
  return r;
}

// A requestId for a POST that brings none: 128 random bits, as hex.
std::string generate_request_id() {
  thread_local std::mt19937_64 random{std::random_device{}() ^ (uint64_t(std::random_device{}()) << 32)};
  return fmt::format("api-{:016x}{:016x}", random(), random());
}
}  // namespace

struct ApiService::Impl {
  // Stopped before anything else goes (~ApiService), so no handler runs on a member
  // already destroyed. Whatever still holds an answer after that (a long poll's wait, a
  // producer completion, a timer) holds only a no-op (see HttpRespond).
  std::unique_ptr<HttpServer> server;
  AppConfig config;
  kafka::ClientProperties client;
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Counter>* responses = nullptr;
  prometheus::Family<prometheus::Histogram>* latency = nullptr;
  prometheus::Gauge* remembered = nullptr;
  prometheus::Gauge* in_flight = nullptr;

  DecisionMemory memory;
  std::unique_ptr<kafka::AcknowledgingProducer> producer;
  std::unique_ptr<TopicTail> results;
  std::unique_ptr<InstanceDirectory> directory;
  std::unique_ptr<TopicTail> catalog;
  mutable std::mutex coupons_mutex;
  std::set<std::string> coupons;  // defined in the catalog, as read so far
  std::atomic<int32_t> partitions{0};
  std::atomic<int64_t> partitions_read_ms{0};
  boost::asio::thread_pool workers;
  std::atomic<size_t> queries_waiting{0};  // posted to the workers and not answered yet
  HttpClientPool instances;  // keep-alive connections to the processors' query endpoints
  std::shared_ptr<StatusEndpoints> status;

  Impl(const AppConfig& c, const kafka::ClientProperties& cl)
      : config(c), client(cl), memory(c.api.decisions_max), workers(4) {}

  // --- metrics -----------------------------------------------------------------------

  void init_metrics() {
    responses = &prometheus::BuildCounter()
                     .Name("couponflow_api_responses_total")
                     .Help("HTTP responses of the api, by route and status code.")
                     .Register(*registry);
    latency = &prometheus::BuildHistogram()
                   .Name("couponflow_api_response_seconds")
                   .Help("Time from a request's arrival to its response, by route (long polls included).")
                   .Register(*registry);
    remembered = &prometheus::BuildGauge()
                      .Name("couponflow_api_decisions_remembered")
                      .Help("Decisions the api remembers for GET /api/requests and long polls.")
                      .Register(*registry)
                      .Add({});
    in_flight = &prometheus::BuildGauge()
                     .Name("couponflow_api_requests_in_flight")
                     .Help("Requests written to the broker and not acknowledged yet.")
                     .Register(*registry)
                     .Add({});
  }

  // Counts and times the answer. Only the first call answers (a POST's timeout and its
  // acknowledgement may race, see issue()), so only the first is counted.
  HttpRespond measured(std::string route, HttpRespond respond) {
    const auto start = std::chrono::steady_clock::now();
    auto answered = std::make_shared<std::atomic<bool>>(false);
    return [this, route = std::move(route), start, answered, respond = std::move(respond)](HttpResponse r) {
      if (answered->exchange(true)) return;
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      static const prometheus::Histogram::BucketBoundaries kBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                                     0.1,    0.25,  0.5,    1,     2.5,  5,     10, 30};
      responses->Add({{"route", route}, {"code", std::to_string(r.status)}}).Increment();
      latency->Add({{"route", route}}, kBuckets).Observe(seconds);
      respond(std::move(r));
    };
  }

  // --- feeds -------------------------------------------------------------------------

  void start_feeds() {
    const auto& topics = config.coupon.topics;
    const size_t budget = config.api.decisions_max;
    results = std::make_unique<TopicTail>(
        client, std::vector<std::string>{topics.issued, topics.rejected},
        // Enough of each partition's end to fill the memory if every partition held as
        // many (a cache warmed from the recent past, bounded whatever the topic's size).
        [this, budget](const processor::Watermarks& w) {
          const int32_t p = std::max<int32_t>(1, partitions.load());
          return Offset{w.high.value - static_cast<int64_t>(budget / static_cast<size_t>(2 * p) + 1)};
        },
        [this](const Record& r) { on_result(r); }, "decision feed");
    directory = std::make_unique<InstanceDirectory>(client, instances_topic(config.streams.application_id));
    catalog = std::make_unique<TopicTail>(
        client, std::vector<std::string>{topics.catalog}, [](const processor::Watermarks& w) { return w.low; },
        [this](const Record& r) { on_catalog(r); }, "catalog");
  }

  void on_result(const Record& r) {
    if (!r.value) return;
    std::string error;
    auto result = coupon::parse_result(*r.value, error);
    if (!result || result->request_id.empty()) return;  // not the processor's: nothing to answer with
    remembered->Set(static_cast<double>(memory.remember(result->request_id, *r.value)));
  }

  void on_catalog(const Record& r) {
    const auto change = coupon::read_catalog_record(r.key, r.value, coupon::CatalogPlacement{r.partition, 0});
    std::lock_guard lock(coupons_mutex);
    switch (change.kind) {
      case coupon::CatalogChange::Kind::kDefine: coupons.emplace(*r.key); break;
      case coupon::CatalogChange::Kind::kDelete: coupons.erase(std::string(*r.key)); break;
      case coupon::CatalogChange::Kind::kSkip: break;
    }
  }

  /// The input topic's partition count, read again every kPartitionRefreshMs (on a worker
  /// thread: it asks the broker). 0 while unknown.
  int32_t partition_count() {
    const int64_t now = SystemClock().now_ms();
    if (partitions.load() > 0 && now - partitions_read_ms.load() < kPartitionRefreshMs) return partitions.load();
    try {
      const auto topics = kafka::list_topics(client);
      auto it = topics.find(config.coupon.topics.issuance);
      if (it != topics.end()) {
        partitions = it->second;
        partitions_read_ms = now;
      }
    } catch (const std::exception& e) {
      log::warn("cannot read the partition count of {}: {}", config.coupon.topics.issuance, e.what());
    }
    return partitions.load();
  }

  // --- routes ------------------------------------------------------------------------

  void handle(HttpRequest&& request, HttpRespond respond) {
    if (auto answer = status->answer(request)) return respond(std::move(*answer));
    if (request.path == "/") {
      respond = measured("/", std::move(respond));
      if (request.method != "GET") return respond(method_not_allowed("GET"));
      return respond(HttpResponse{200, "text/html; charset=utf-8", std::string(live_page_html()), {}});
    }
    auto segments = path_segments(request.path);
    if (!segments) return respond(HttpResponse::error(400, "the path is not validly percent-encoded"));
    const auto& s = *segments;
    const size_t n = s.size();
    if (n >= 2 && s[0] == "api" && s[1] == "coupons") {
      if (n == 2) {
        respond = measured("/api/coupons", std::move(respond));
        if (request.method != "GET") return respond(method_not_allowed("GET"));
        return respond(coupon_list());
      }
      if (n == 4 && s[3] == "issue") {
        respond = measured("/api/coupons/{couponId}/issue", std::move(respond));
        if (request.method != "POST") return respond(method_not_allowed("POST"));
        return issue(s[2], request, std::move(respond));
      }
      if (n == 3 || (n == 5 && s[3] == "holders")) {
        respond = measured(n == 3 ? "/api/coupons/{couponId}" : "/api/coupons/{couponId}/holders/{userId}",
                           std::move(respond));
        if (request.method != "GET") return respond(method_not_allowed("GET"));
        return query(s, std::move(respond));
      }
    }
    if (n == 3 && s[0] == "api" && s[1] == "requests") {
      respond = measured("/api/requests/{requestId}", std::move(respond));
      if (request.method != "GET") return respond(method_not_allowed("GET"));
      if (s[2].empty()) return respond(HttpResponse::error(400, "an empty requestId"));
      if (auto result = memory.find(s[2])) return respond(HttpResponse::json(200, std::move(*result)));
      return respond(HttpResponse::error(404, "no decision seen for this requestId (yet)"));
    }
    respond(HttpResponse::error(404, "no such path"));
  }

  HttpResponse coupon_list() {
    std::string body = "{\"coupons\":[";
    std::lock_guard lock(coupons_mutex);
    bool first = true;
    for (const auto& id : coupons) {
      if (!first) body += ',';
      first = false;
      append_json_string(body, id);
    }
    body += "]}";
    return HttpResponse::json(200, std::move(body));
  }

  void issue(const std::string& coupon_id, const HttpRequest& request, HttpRespond respond) {
    if (coupon_id.empty()) return respond(HttpResponse::error(400, "an empty couponId"));
    int wait_ms = 0;
    if (auto wait = query_parameter(request.query, "wait")) {
      auto parsed = parse_number<int>(std::string_view(*wait));
      if (!parsed || *parsed < 0 || *parsed > kMaxWaitMs) {
        return respond(HttpResponse::error(400, fmt::format("wait must be an integer from 0 to {}", kMaxWaitMs)));
      }
      wait_ms = *parsed;
    }
    thread_local coupon::JsonObjectReader reader(16 * 1024);
    std::array<coupon::JsonField, 2> fields{coupon::JsonField{"userId", coupon::JsonType::kString},
                                            coupon::JsonField{"requestId", coupon::JsonType::kString}};
    if (auto e = reader.read(request.body, fields)) {
      return respond(HttpResponse::error(400, "the body must be a JSON object: " + e->message));
    }
    if (!fields[0].present || fields[0].text.empty()) {
      return respond(HttpResponse::error(400, "userId must be a non-empty string"));
    }
    const std::string user_id = std::move(fields[0].text);
    const std::string request_id = fields[1].present && !fields[1].text.empty() ? std::move(fields[1].text)
                                                                                 : generate_request_id();
    const int64_t now = SystemClock().now_ms();
    const std::string value = coupon::request_json(request_id, coupon_id, user_id, now);
    std::string accepted = "{\"requestId\":";
    append_json_string(accepted, request_id);
    accepted += ",\"couponId\":";
    append_json_string(accepted, coupon_id);
    accepted += ",\"userId\":";
    append_json_string(accepted, user_id);
    accepted += ",\"status\":\"REQUESTED\"}";

    auto shared_respond = std::make_shared<HttpRespond>(std::move(respond));
    auto acknowledged = std::make_shared<std::atomic<bool>>(false);
    auto on_ack = [this, shared_respond, acknowledged, request_id, wait_ms,
                   accepted = std::move(accepted)](const kafka::Delivery& d) {
      acknowledged->store(true);
      in_flight->Decrement();
      if (!d.ok) {
        return (*shared_respond)(with_retry_after(HttpResponse::error(
            503, "the broker did not acknowledge the request (" + d.error + "); retrying with the same requestId is safe")));
      }
      if (wait_ms == 0) return (*shared_respond)(HttpResponse::json(202, accepted));
      auto w = memory.wait(request_id, [shared_respond, accepted](std::optional<std::string> result) {
        if (result) return (*shared_respond)(HttpResponse::json(200, std::move(*result)));
        (*shared_respond)(HttpResponse::json(202, accepted));
      });
      server->run_after(wait_ms, [this, w] { memory.expire(w); });
    };
    std::string error;
    in_flight->Increment();
    if (!producer->send(config.coupon.topics.issuance, coupon_id, value, now, std::move(on_ack), error)) {
      in_flight->Decrement();
      return (*shared_respond)(with_retry_after(HttpResponse::error(503, "cannot take the request now: " + error)));
    }
    // librdkafka notices a message timeout only at its next scan (up to a second late):
    // the answer keeps the configured bound itself. If the acknowledgement and the timer
    // race, whichever answers first wins (the server ignores a second answer); the
    // record may still be written afterwards, which a retry with the same requestId
    // makes harmless.
    server->run_after(config.api.request_timeout_ms, [shared_respond, acknowledged] {
      if (acknowledged->load()) return;  // acknowledged in time: a long poll may still wait
      (*shared_respond)(with_retry_after(HttpResponse::error(
          503, "the broker did not acknowledge the request in time; retrying with the same requestId is safe")));
    });
  }

  void query(const std::vector<std::string>& s, HttpRespond respond) {
    if (s[2].empty() || (s.size() == 5 && s[4].empty())) return respond(HttpResponse::error(400, "an empty id in the path"));
    std::string path = "/iq/coupons/" + percent_encode(s[2]);
    if (s.size() == 5) path += "/holders/" + percent_encode(s[4]);
    // Bounded like the POSTs: when the instances answer slowly (a stalled stream thread
    // takes api.query.timeout.ms per query), queries wait here, not without limit.
    if (queries_waiting.fetch_add(1) >= config.api.max_waiting_queries) {
      --queries_waiting;
      return respond(with_retry_after(HttpResponse::error(503, "too many queries are waiting for the instances")));
    }
    boost::asio::post(workers, [this, coupon_id = s[2], path = std::move(path), respond = std::move(respond)] {
      HttpResponse answer = route_query(coupon_id, path);
      --queries_waiting;
      respond(std::move(answer));
    });
  }

  // Asks the instances claiming the coupon's partition, newest claim first, until one
  // answers for it. Runs on a worker thread (blocking HTTP calls).
  HttpResponse route_query(const std::string& coupon_id, const std::string& path) {
    const int32_t count = partition_count();
    if (count <= 0) return with_retry_after(HttpResponse::error(503, "the input topic's partitions are not known yet"));
    const Partition partition = murmur2_partition(coupon_id, count);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(config.api.query_timeout_ms);
    const QueryRoute route = directory->route(partition.value);
    std::string why = route.restoring || route.running.empty()
                          ? fmt::format("partition {} is {}", partition, route.restoring ? "restoring" : "not running anywhere")
                          : "";
    for (const auto& address : route.running) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      const HttpAnswer answer = instances.get(address, path, static_cast<int>(left.count()));
      if (answer.status == 200 || answer.status == 404) return HttpResponse::json(answer.status, answer.body);
      // 421: it no longer runs the partition; 503: it is restoring or busy; 0: gone.
      why = fmt::format("partition {}: {} answered {}", partition, address,
                        answer.status == 0 ? std::string("nothing") : std::to_string(answer.status));
    }
    return with_retry_after(HttpResponse::error(503, "no instance can answer for now (" + why + ")"));
  }
};

ApiService::ApiService(const AppConfig& config, const kafka::ClientProperties& client, const std::string& listen)
    : impl_(std::make_unique<Impl>(config, client)) {
  impl_->init_metrics();
  impl_->producer =
      std::make_unique<kafka::AcknowledgingProducer>(client, config.api.request_timeout_ms, config.api.max_in_flight);
  impl_->partition_count();
  impl_->start_feeds();
  impl_->status = std::make_shared<StatusEndpoints>(
      impl_->registry, [] { return Probe{true, ""}; },
      [this] {
        return ready() ? Probe{true, ""} : Probe{false, "catching up with the result, instance and catalog topics"};
      });
  impl_->server = std::make_unique<HttpServer>(
      listen, [impl = impl_.get()](HttpRequest&& r, HttpRespond respond) { impl->handle(std::move(r), std::move(respond)); },
      HttpServerOptions{.what = "api", .threads = config.api.threads, .max_body_bytes = 16 * 1024});
}

ApiService::~ApiService() {
  // Stop serving first; then the parts that may still answer (the producer's completions,
  // the feeds' decisions) go, their answers dropped with the stopped server's queue.
  impl_->server->stop();
  impl_->workers.join();  // queries under way finish (they read the directory)
  impl_->producer.reset();
  impl_->results.reset();
  impl_->catalog.reset();
  impl_->directory.reset();
}

std::string ApiService::host() const { return impl_->server->host(); }
uint16_t ApiService::port() const { return impl_->server->port(); }

bool ApiService::ready() const {
  return impl_->results->ready() && impl_->directory->ready() && impl_->catalog->ready();
}

}  // namespace couponflow::ops
