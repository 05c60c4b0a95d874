#include <doctest/doctest.h>

#include "topology/coupon/catalog.h"
#include "topology/coupon/decision.h"
#include "topology/coupon/issued_state.h"
#include "topology/coupon/request.h"
#include "topology/coupon/result.h"

using namespace couponflow::coupon;

TEST_CASE("decision rules apply in the contract's order") {
  const CouponDefinition open{10, 100, 200};
  DecisionInput in;
  in.identity = "r-1";
  in.timestamp = 150;
  in.definition = &open;

  SUBCASE("6: accepted with issueNo = count + 1") {
    in.issued_count = 4;
    auto d = decide(in);
    CHECK(d.accepted);
    CHECK(d.issue_no == 5);
    CHECK(d.grants_new_holding);
  }
  SUBCASE("5: sold out at capacity") {
    in.issued_count = 10;
    CHECK(decide(in).reason == RejectReason::kSoldOut);
  }
  SUBCASE("4: already issued under another identity, even when sold out") {
    in.issued_count = 10;
    in.holding = Holding{3, "r-0"};
    CHECK(decide(in).reason == RejectReason::kAlreadyIssued);
  }
  SUBCASE("3: window uses the record timestamp, closesAt exclusive") {
    in.timestamp = 99;
    CHECK(decide(in).reason == RejectReason::kNotOpen);
    in.timestamp = 100;
    CHECK(decide(in).accepted);
    in.timestamp = 200;
    CHECK(decide(in).reason == RejectReason::kClosed);
  }
  SUBCASE("2: unknown coupon") {
    in.definition = nullptr;
    CHECK(decide(in).reason == RejectReason::kUnknownCoupon);
  }
  SUBCASE("1: the same identity is accepted again with its issueNo, whatever changed since") {
    in.holding = Holding{7, "r-1"};
    in.definition = nullptr;  // coupon deleted since
    in.timestamp = 999;       // and closed
    auto d = decide(in);
    CHECK(d.accepted);
    CHECK(d.issue_no == 7);
    CHECK_FALSE(d.grants_new_holding);
  }
}

TEST_CASE("requests parse with free field order, unknown fields and optional ids") {
  RequestParser parser;
  CouponRequest r;
  REQUIRE_FALSE(parser.parse(R"({"userId":"u","extra":{"x":[1,2]},"couponId":"c","requestedAt":5})", r));
  CHECK(r.coupon_id == "c");
  CHECK(r.user_id == "u");
  CHECK(r.request_id.empty());
  CHECK(r.requested_at == 5);
  REQUIRE_FALSE(parser.parse(R"({"requestId":null,"couponId":"c","userId":"u"})", r));
  CHECK(r.request_id.empty());
  CHECK_FALSE(r.requested_at);
  REQUIRE_FALSE(parser.parse(R"(  {"couponId":"c","userId":"u}{[","note":"]\"}"}  )", r));
  CHECK(r.user_id == "u}{[");  // brackets inside strings are not structure
  REQUIRE_FALSE(parser.parse(R"({"requestId":"","couponId":"c\u00e9","userId":"u\"q"})", r));
  CHECK(r.request_id.empty());
  CHECK(r.coupon_id == "c\xc3\xa9");
  CHECK(r.user_id == "u\"q");
}

TEST_CASE("holding keys are unambiguous for ids containing any byte") {
  std::string a, b;
  holding_key(a, std::string("a\0b", 3), "c");
  holding_key(b, "a", std::string("b\0c", 3));
  CHECK(a != b);
  CHECK(coupon_of_holding_key(a) == std::string_view("a\0b", 3));
  CHECK(coupon_of_holding_key(b) == "a");
  CHECK_FALSE(coupon_of_holding_key("ab"));
}

TEST_CASE("catalog definitions round-trip through JSON and their stored form") {
  for (const CouponDefinition& d : {CouponDefinition{5, {}, {}}, CouponDefinition{0, 10, {}},
                                    CouponDefinition{1000, 10, 20}}) {
    auto change = read_catalog_record("c1", catalog_json("c1", d), {});
    REQUIRE(change.kind == CatalogChange::Kind::kDefine);
    CHECK(change.definition == d);
    CHECK(decode_definition(encode_definition(d)) == d);
  }
  auto skipped = [](std::string_view value) { return read_catalog_record("c1", value, {}).skip; };
  CHECK(skipped(R"({"couponId":"c2","capacity":1})") == CatalogSkip::kInvalidField);
  CHECK(skipped(R"({"couponId":"c1","capacity":-1})") == CatalogSkip::kInvalidField);
  CHECK(skipped(R"({"couponId":"c1"})") == CatalogSkip::kInvalidField);
  CHECK(skipped(R"({"couponId":"c1","capacity":"7"})") == CatalogSkip::kInvalidField);
}

TEST_CASE("results round-trip through their JSON form") {
  CouponResult a{"r-1", "c", "u", true, 17, "", 1763700000000, 1763700000042, 3, 1207};
  std::string json;
  write_result_json(json, a);
  CHECK(json ==
        R"({"requestId":"r-1","couponId":"c","userId":"u","status":"ACCEPTED","issueNo":17,)"
        R"("requestedAt":1763700000000,"decidedAt":1763700000042,"partition":3,"offset":1207})");
  std::string error;
  auto back = parse_result(json, error);
  REQUIRE(back);
  CHECK(back->issue_no == 17);
  CHECK(back->accepted);
  CouponResult r{"3-9", "c", "u\n", false, 0, "SOLD_OUT", std::nullopt, 5, 3, 9};
  write_result_json(json, r);
  back = parse_result(json, error);
  REQUIRE(back);
  CHECK(back->reason == "SOLD_OUT");
  CHECK(back->user_id == "u\n");
  CHECK_FALSE(back->requested_at);
}
