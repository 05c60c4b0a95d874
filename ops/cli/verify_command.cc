// couponflow verify: check the contract's invariants over the job's topics.

#include "common/errors.h"
#include "common/log.h"
#include "ops/cli/client_options.h"
#include "ops/cli/commands.h"
#include "ops/progress_reporter.h"
#include "ops/verify/verify.h"

namespace couponflow::cli {

Run add_verify_command(CLI::App& root) {
  struct Options {
    ClientOptions client;
    std::string application_id;
    std::string output = "text";
  };
  auto o = std::make_shared<Options>();
  auto* cmd = root.add_subcommand(
      "verify",
      "Read the request, catalog, result and DLQ topics (and the issued store's changelog) from the beginning, "
      "check invariants I1-I5, print a summary. Exit 0: they hold; 1: one is violated; 2: usage; 3: cannot "
      "verify (records it needs are gone, or the cluster cannot be read).");
  o->client.add_to(cmd);
  cmd->add_option("--application-id", o->application_id,
                  "the processors' application id, whose changelog is read (default coupon-processor)");
  cmd->add_option("--output", o->output, "text (default) or json")->check(CLI::IsMember({"text", "json"}));
  return [o] {
    const ops::AppConfig config = o->client.resolve();
    ops::apply_logging(config);
    const std::string application_id = o->application_id.empty() ? config.streams.application_id : o->application_id;
    const bool json = o->output == "json";
    try {
      std::atomic<uint64_t> records_read{0};
      const auto report = [&] {
        ops::ProgressReporter progress([&](double seconds) {
          log::info("verify: {} records read ({:.0f}/s)", records_read.load(), records_read.load() / seconds);
        });
        return ops::verify_topics(tool_client(config), config.coupon.topics, application_id, &records_read);
      }();
      std::fputs((json ? ops::format_report_json(report) : ops::format_report(report)).c_str(), stdout);
      return ops::exit_code(report.verdict());
    } catch (const FatalError& e) {
      // The cluster or a topic cannot be read: nothing can be judged.
      if (json) {
        std::fputs(ops::cannot_read_json(e.what()).c_str(), stdout);
      } else {
        std::fprintf(stdout, "verify: CANNOT VERIFY: %s\n", e.what());
      }
      return ops::exit_code(ops::Verdict::kCannotVerify);
    }
  };
}

}  // namespace couponflow::cli
