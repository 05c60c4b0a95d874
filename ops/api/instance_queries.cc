#include "ops/api/instance_queries.h"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include "common/murmur2.h"
#include "ops/http/url.h"
#include "processor/streams_instance.h"
#include "topology/coupon/coupon_queries.h"
#include "topology/coupon/issued_state.h"

namespace couponflow::ops {

struct InstanceQueries::Impl {
  const processor::StreamsInstance& instance;
  int timeout_ms;
  boost::asio::thread_pool workers;

  Impl(const processor::StreamsInstance& i, int t, int w) : instance(i), timeout_ms(t), workers(w) {}

  HttpResponse answer(const std::vector<std::string>& segments) {
    const std::string& coupon_id = segments[2];
    const bool holder = segments.size() == 5;
    const int32_t partitions = instance.partition_count();
    if (partitions <= 0) return unavailable("the instance has not joined its group yet");
    const Partition partition = murmur2_partition(coupon_id, partitions);

    std::optional<std::string> found;
    const processor::StoreQuery query = [&](processor::QueryableStores& stores) {
      if (holder) {
        auto h = coupon::read_holder(stores.store(coupon::kIssuedStore), coupon_id, segments[4]);
        if (h) found = coupon::holder_json(coupon_id, segments[4], *h);
      } else {
        auto c = coupon::read_coupon_status(stores.store(coupon::kCatalogStore),
                                            stores.view(coupon::kIssuedStore, coupon::kCountsView), coupon_id);
        if (c) found = coupon::coupon_status_json(coupon_id, *c);
      }
    };
    switch (instance.query(partition, query, timeout_ms)) {
      case processor::QueryOutcome::kAnswered:
        if (found) return HttpResponse::json(200, std::move(*found));
        return HttpResponse::error(404, holder ? "the user does not hold this coupon" : "unknown coupon");
      case processor::QueryOutcome::kNotOwner:
        return HttpResponse::error(kMisdirected, fmt::format("partition {} is not run by this instance", partition));
      case processor::QueryOutcome::kRestoring:
        return unavailable(fmt::format("partition {} is restoring its state", partition));
      case processor::QueryOutcome::kTimedOut:
        return unavailable(fmt::format("partition {}'s stream thread did not answer within {} ms", partition, timeout_ms));
    }
    return unavailable("unexpected query outcome");
  }

  static HttpResponse unavailable(std::string_view why) {
    HttpResponse r = HttpResponse::error(503, why);
    r.headers.emplace_back("Retry-After", "1");
    return r;
  }
};

InstanceQueries::InstanceQueries(const processor::StreamsInstance& instance, int timeout_ms, int workers)
    : impl_(std::make_unique<Impl>(instance, timeout_ms, workers)) {}

InstanceQueries::~InstanceQueries() {
  impl_->workers.stop();
  impl_->workers.join();
}

void InstanceQueries::handle(HttpRequest&& request, HttpRespond respond) {
  auto segments = path_segments(request.path);
  const bool ours = segments && segments->size() >= 3 && (*segments)[0] == "iq" && (*segments)[1] == "coupons" &&
                    (segments->size() == 3 || (segments->size() == 5 && (*segments)[3] == "holders"));
  if (!ours) return respond(HttpResponse::error(404, "no such path"));
  if (request.method != "GET") {
    HttpResponse r = HttpResponse::error(405, "only GET");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return respond(std::move(r));
  }
  for (size_t i = 2; i < segments->size(); i += 2) {
    if ((*segments)[i].empty()) return respond(HttpResponse::error(400, "an empty id in the path"));
  }
  boost::asio::post(impl_->workers, [impl = impl_.get(), segments = std::move(*segments), respond = std::move(respond)] {
    respond(impl->answer(segments));
  });
}

}  // namespace couponflow::ops
