// verify's decoding of whatever the topics hold: results, DLQ entries and their headers,
// requests and catalog records, in any mix and order. Never a crash.

#include "ops/verify/invariant_checker.h"
#include "ops/verify/report.h"
#include "tests/fuzz/fuzz_input.h"

using namespace couponflow;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::FuzzInput in(data, size);
  ops::InvariantChecker checker("coupon-issuance", 1 + in.byte() % 8);
  for (int n = 0; n < 64 && !in.empty(); ++n) {
    const uint8_t kind = in.byte();
    kafka::ReadRecord r;
    r.partition = Partition{kind >> 4};
    r.offset = Offset{in.byte()};
    r.timestamp = in.byte();
    if (auto key = in.piece()) r.key.emplace(*key);
    if (auto value = in.piece()) r.value.emplace(*value);
    switch (kind % 5) {
      case 0: r.topic = "coupon-catalog"; checker.add_catalog(r); break;
      case 1: r.topic = "coupon-issuance"; checker.add_request(r); break;
      case 2: r.topic = "coupon-issued"; checker.add_result(r); break;
      case 3: {
        r.topic = "coupon-issuance-dlq";
        for (const char* name : {"dlq.reason", "dlq.source.topic", "dlq.source.partition", "dlq.source.offset"}) {
          if (auto v = in.piece()) r.headers.emplace_back(name, std::string(*v));
        }
        checker.add_dlq(r);
        break;
      }
      case 4: r.topic = "coupon-processor-issued-changelog"; checker.add_holding(r); break;
    }
  }
  const auto report = checker.check();
  (void)ops::format_report_json(report);
  return 0;
}
