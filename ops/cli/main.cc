// couponflow: one executable for the processor, the embedded broker and the tools.

#include <fmt/format.h>

#include <cstdio>
#include <map>

#include "common/build_info.h"
#include "common/errors.h"
#include "common/log.h"
#include "ops/cli/commands.h"

int main(int argc, char** argv) {
  using namespace couponflow;
  CLI::App app{"couponflow: a Kafka Streams-style stateful stream processor; its flagship job issues "
               "coupons first-come-first-served."};
  app.set_version_flag("--version", fmt::format("couponflow {} (revision {}, allocator {})", build_version(),
                                                     build_revision(), allocator_in_use()));
  app.require_subcommand(1);
  std::map<CLI::App*, cli::Run> commands;
  auto add = [&](cli::Run run) { commands[app.get_subcommands({}).back()] = std::move(run); };
  add(cli::add_broker_command(app));
  add(cli::add_process_command(app));
  add(cli::add_catalog_command(app));
  add(cli::add_verify_command(app));
  add(cli::add_demo_command(app));
  add(cli::add_drill_command(app));
  add(cli::add_loadgen_command(app));
  add(cli::add_topics_command(app));
  add(cli::add_reset_command(app));
  add(cli::add_describe_command(app));
  add(cli::add_api_command(app));

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // Contract: bad flags exit 2 with a one-line message.
    std::fprintf(stderr, "couponflow: %s (see --help)\n", e.what());
    return 2;
  }
  try {
    for (auto* sub : app.get_subcommands()) {
      auto it = commands.find(sub);
      if (it != commands.end()) return it->second();
    }
    return 2;
  } catch (const FatalError& e) {
    std::fprintf(stderr, "couponflow: fatal: %s\n", e.what());
    return 1;
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "couponflow: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "couponflow: error: %s\n", e.what());
    return 1;
  }
}
