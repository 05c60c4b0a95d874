#include "topology/coupon/coupon_topology.h"

#include "topology/coupon/catalog.h"
#include "topology/coupon/issuance_processor.h"
#include "topology/coupon/issued_state.h"

namespace couponflow::coupon {

topology::Topology build_coupon_topology(const CouponOptions& options) {
  const CouponTopics& t = options.topics;
  topology::TopologyBuilder b;
  b.stream("requests", t.issuance);
  b.store(state::StoreSpec{std::string(kCatalogStore), {}, t.catalog});
  b.table("catalog", t.catalog, std::string(kCatalogStore), catalog_materializer(options.max_request_bytes));
  b.store(issued_store_spec());
  b.processor(
      "issuer", [options] { return std::make_unique<IssuanceProcessor>(options); }, {"requests"},
      {std::string(kIssuedStore), std::string(kCatalogStore)});
  b.sink("accepted", t.issued, {"issuer"});
  b.sink("rejected", t.rejected, {"issuer"});
  b.sink("dlq", t.dlq, {"issuer"});
  b.dead_letters(t.dlq);  // a record whose processing throws, after retries
  return std::move(b).build();
}

}  // namespace couponflow::coupon
