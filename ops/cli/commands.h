#pragma once
// The subcommands of the `couponflow` executable. Each add_* registers its options on
// the root app and returns the function that runs it (returning the exit code).

#include <functional>

#include <CLI/CLI.hpp>

namespace couponflow::cli {

using Run = std::function<int()>;

Run add_broker_command(CLI::App& root);
Run add_process_command(CLI::App& root);
Run add_catalog_command(CLI::App& root);
Run add_verify_command(CLI::App& root);
Run add_demo_command(CLI::App& root);
Run add_drill_command(CLI::App& root);
Run add_loadgen_command(CLI::App& root);
Run add_topics_command(CLI::App& root);
Run add_reset_command(CLI::App& root);
Run add_describe_command(CLI::App& root);
Run add_api_command(CLI::App& root);

}  // namespace couponflow::cli
