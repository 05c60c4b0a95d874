// couponflow verify: check the contract's invariants over the job's topics.

#include "ops/cli/commands.h"
#include "ops/verify/verify.h"

namespace couponflow::cli {

Run add_verify_command(CLI::App& root) {
  struct Options {
    std::string bootstrap;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = root.add_subcommand(
      "verify",
      "Read the request, catalog, result and DLQ topics from the beginning, check invariants I1-I5, "
      "print a summary; exit 0 iff none is violated.");
  cmd->add_option("--bootstrap", o->bootstrap, "Kafka bootstrap servers")->required();
  return [o] {
    const auto report = ops::verify_topics({{"bootstrap.servers", o->bootstrap}}, coupon::CouponTopics{});
    std::fputs(ops::format_report(report).c_str(), stdout);
    return report.ok() ? 0 : 1;
  };
}

}  // namespace couponflow::cli
